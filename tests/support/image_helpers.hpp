// Image helpers for the op tests: bounded random images, images with padded
// rows on any device, and host copies. Test-only; failures throw tandem::Error.
#pragma once

#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "tandem/tandem.hpp"

namespace tandem::test {

/// A packed host image with values uniform in [0, top] (integers) or [0, top) (floats).
inline Tensor random_image_upto(DType dtype, std::int64_t h, std::int64_t w, std::int64_t c, std::uint64_t seed,
                                double top) {
  Tensor t;
  throw_if_error(Tensor::create_image(dtype, h, w, c, Device::cpu(), t));
  std::mt19937_64 rng(seed);
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.view().ptr<T>();
    const std::int64_t n = t.view().numel();
    if constexpr (std::is_floating_point_v<T>) {
      std::uniform_real_distribution<double> d(0.0, top);
      for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(d(rng));
    } else {
      std::uniform_int_distribution<std::int64_t> d(0, static_cast<std::int64_t>(top));
      for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(d(rng));
    }
  });
  return t;
}

/// An image with rows padded by `pad` elements, on `device`, holding `host`'s pixels
/// (read results back with DeviceRunner::download, which handles the padding).
struct PaddedImage {
  Buffer buffer;
  View view;
};

inline PaddedImage padded_image(const View& host, Device device, std::int64_t pad, void* stream) {
  PaddedImage out;
  const std::int64_t es = static_cast<std::int64_t>(host.elem_size());
  const std::int64_t stride = (host.width() * host.channels() + pad) * es;
  throw_if_error(Buffer::allocate(std::size_t(stride * host.height()),
                                  device.is_cuda() ? MemKind::device : MemKind::host, out.buffer, device.index));
  out.view = View::image(out.buffer.data(), host.dtype, host.height(), host.width(), host.channels(), device, stride);
  // Queued on `stream` (pageable host memory is staged before copy() returns),
  // so ops queued after it on the same stream see the pixels.
  if (host.numel() > 0) throw_if_error(copy(host, out.view, stream));
  return out;
}

/// The elements of a host view in C order, as doubles.
inline std::vector<double> values(const View& v) {
  std::vector<double> out(static_cast<std::size_t>(v.numel()));
  for (std::int64_t i = 0; i < v.numel(); ++i) {
    std::int64_t offset = 0, j = i;
    for (int d = v.ndim - 1; d >= 0; --d) {
      offset += (j % v.shape[d]) * v.strides[d];
      j /= v.shape[d];
    }
    const char* p = static_cast<const char*>(v.data) + offset;
    out[static_cast<std::size_t>(i)] = visit_dtype(v.dtype, [&](auto tag) {
      using T = decltype(tag);
      return static_cast<double>(*reinterpret_cast<const T*>(p));
    });
  }
  return out;
}

}  // namespace tandem::test
