// Helpers for the per-pixel op tests (grayscale, threshold, invert, equalize): a tiny .npy
// reader for the OpenCV golden files, padded (row-strided) images on any device, and the
// sizes every suite runs.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "host/platform/cache.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/test_support.hpp"

namespace tandem::test::pointops {

/// Awkward sizes: 1x1, a single row, a single column, primes (not multiples of any GPU
/// tile or vector width), and one large image.
struct Size2 {
  std::int64_t h, w;
};
inline const std::vector<Size2>& sizes() {
  static const std::vector<Size2> s{{1, 1}, {1, 257}, {263, 1}, {37, 53}, {61, 67}, {1031, 777}};
  return s;
}

/// While alive, the point ops take the shared cache to be `bytes`: images of a few hundred
/// KiB then take the non-temporal store path of outputs that do not fit next to their input.
struct SharedCacheOf {
  explicit SharedCacheOf(std::size_t bytes) { detail::set_shared_cache_bytes(bytes); }
  ~SharedCacheOf() { detail::set_shared_cache_bytes(0); }
  SharedCacheOf(const SharedCacheOf&) = delete;
  SharedCacheOf& operator=(const SharedCacheOf&) = delete;
};

inline std::string golden_path(const std::string& name) {
  return std::string(TANDEM_SOURCE_DIR) + "/tests/golden/" + name;
}

/// Reads a little-endian, C-order .npy file (format 1.0 or 2.0) of dtype |u1, <u2, <f4 or
/// <f8 into a host tensor. Fails the test (and returns an empty tensor) on anything else.
inline Tensor load_npy(const std::string& path) {
  Tensor t;
  const Status s = io::read_npy(path, t);  // the project's reader, checked against NumPy in io_test
  if (!s.ok()) ADD_FAILURE() << "golden file: " << s.message();
  return t;
}

/// The i-th H x W [x C] image of a stacked (N, H, W [, C]) host array, as a view.
inline View slice(const View& stack, std::int64_t i) {
  View v = stack;
  v.data = static_cast<char*>(stack.data) + i * stack.strides[0];
  v.ndim = stack.ndim - 1;
  for (int d = 0; d < v.ndim; ++d) {
    v.shape[d] = stack.shape[d + 1];
    v.strides[d] = stack.strides[d + 1];
  }
  return v;
}

/// Every element of a host view, C order, as doubles.
inline std::vector<double> values(const View& v) {
  std::vector<double> out(static_cast<std::size_t>(v.numel()));
  for (std::int64_t i = 0; i < v.numel(); ++i) out[std::size_t(i)] = at(v, i);
  return out;
}

inline constexpr unsigned char kSentinel = 0xA5;

/// An image whose rows are `pad` bytes longer than needed; the padding holds kSentinel so
/// a test can check that an op never writes it. `storage` is a u8 H x stride array.
struct Padded {
  Tensor storage;
  View view;
};

/// Row padding for a row of `row` bytes: `odd` bytes (strides that break 16-byte vectors),
/// or, when `aligned`, enough to make the stride a multiple of 16 plus 16 more.
inline std::int64_t pad_bytes(std::int64_t row, std::int64_t odd, bool aligned) {
  return aligned ? (row + 15) / 16 * 16 - row + 16 : odd;
}

/// A padded host copy of `img` (a packed host image).
inline Padded pad_host(const View& img, std::int64_t pad) {
  const std::int64_t row = img.width() * img.channels() * std::int64_t(img.elem_size());
  const std::int64_t stride = row + pad;
  Padded p;
  throw_if_error(Tensor::create(DType::u8, {img.height(), stride}, Device::cpu(), p.storage));
  std::memset(p.storage.view().data, kSentinel, p.storage.view().nbytes());
  p.view = View::image(p.storage.view().data, img.dtype, img.height(), img.width(), img.channels(),
                       Device::cpu(), stride);
  throw_if_error(copy(img, p.view));
  return p;
}

/// A padded image of the given layout on `runner`'s device, every byte kSentinel.
inline Padded pad_blank(DeviceRunner& runner, Device device, DType dtype, std::int64_t h, std::int64_t w,
                        std::int64_t c, std::int64_t pad) {
  const std::int64_t stride = w * c * std::int64_t(dtype_size(dtype)) + pad;
  Tensor host;
  throw_if_error(Tensor::create(DType::u8, {h, stride}, Device::cpu(), host));
  std::memset(host.view().data, kSentinel, host.view().nbytes());
  Padded p;
  p.storage = runner.upload(host.view());
  p.view = View::image(p.storage.view().data, dtype, h, w, c, device, stride);
  return p;
}

/// Moves a padded host image to `runner`'s device, keeping its row stride.
inline Padded to_device(DeviceRunner& runner, Device device, const Padded& host) {
  Padded p;
  p.storage = runner.upload(host.storage.view());
  p.view = host.view;
  p.view.data = p.storage.view().data;
  p.view.device = device;
  return p;
}

/// Downloads a padded device image; `bytes_ok` reports whether the padding still holds
/// kSentinel everywhere.
inline Padded download(DeviceRunner& runner, const Padded& dev, bool& padding_intact) {
  Padded p;
  p.storage = runner.download(dev.storage.view());
  p.view = dev.view;
  p.view.data = p.storage.view().data;
  p.view.device = Device::cpu();
  const std::int64_t row = dev.view.width() * dev.view.channels() * std::int64_t(dev.view.elem_size());
  const auto* b = static_cast<const unsigned char*>(p.storage.view().data);
  padding_intact = true;
  for (std::int64_t y = 0; y < dev.view.height(); ++y)
    for (std::int64_t x = row; x < dev.view.row_stride(); ++x)
      padding_intact = padding_intact && b[y * dev.view.row_stride() + x] == kSentinel;
  return p;
}

/// Uploads `host`, runs `fn(device_src, Tensor& dst, exec)` (an allocating op overload) and
/// returns the downloaded result; a failed Status fails the test and yields an empty tensor.
template <class Fn>
Tensor run_alloc(DeviceRunner& runner, const View& host, Fn&& fn) {
  Tensor in = runner.upload(host);
  Tensor out;
  const Status s = fn(in.view(), out, runner.exec());
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return {};
  return runner.download(out.view());
}

/// True when `s` failed with `code` and its message contains every one of `parts`.
inline ::testing::AssertionResult fails_with(const Status& s, Errc code, std::initializer_list<std::string> parts) {
  if (s.ok()) return ::testing::AssertionFailure() << "expected an error, got ok";
  if (s.code() != code)
    return ::testing::AssertionFailure() << "code " << errc_name(s.code()) << " (want " << errc_name(code)
                                         << "): " << s.message();
  for (const auto& p : parts)
    if (s.message().find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "message lacks '" << p << "': " << s.message();
  return ::testing::AssertionSuccess();
}

/// "u8 37x53x3" for SCOPED_TRACE.
inline std::string label(DType t, std::int64_t h, std::int64_t w, std::int64_t c) {
  return std::string(dtype_name(t)) + " " + std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c);
}

/// Calls `f(dtype, channels, size, img)` for every u8/u16/f32 x 1/3/4 channels x sizes(),
/// with `img` a random image of seeds 1, 2, 3, ... in that order.
template <class F>
void for_each_image(F&& f) {
  std::uint64_t seed = 1;
  for (DType t : {DType::u8, DType::u16, DType::f32})
    for (int c : {1, 3, 4})
      for (const auto& sz : sizes()) {
        const Tensor img = random_image(t, sz.h, sz.w, c, seed);
        f(t, c, sz, img);
        ++seed;
      }
}

/// On every SIMD target of `device`, with a fresh runner: f(runner, dtype, channels, seed)
/// for u8, u16 and f32 with 1, 3 and 4 channels; `seed` (which f advances with seed++)
/// counts from `first_seed` anew on each target.
template <class F>
void for_each_layout_on(Device device, std::uint64_t first_seed, F&& f) {
  for_each_simd_target_on(device, [&] {
    DeviceRunner runner(device);
    std::uint64_t seed = first_seed;
    for (DType t : {DType::u8, DType::u16, DType::f32})
      for (int c : {1, 3, 4}) f(runner, t, c, seed);
  });
}

/// An in-place-capable op `run(src, dst)` (returning a Status) on `img` with padded rows
/// (`aligned` or odd padding) on `device`: out of place into a padded destination, then in
/// place on the padded source; both must equal `ref` within `tol` and leave the row padding
/// alone. `op` names the op in the failure message.
template <class Run>
void check_padded_and_in_place(DeviceRunner& runner, Device device, const View& img, bool aligned, const char* op,
                               const std::vector<double>& ref, double tol, Run&& run) {
  const std::int64_t es = std::int64_t(dtype_size(img.dtype));
  const std::int64_t row = img.width() * img.channels() * es;
  Padded src = to_device(runner, device, pad_host(img, pad_bytes(row, es, aligned)));
  Padded dst = pad_blank(runner, device, img.dtype, img.height(), img.width(), img.channels(),
                         pad_bytes(row, 3 * es, aligned));
  ASSERT_TRUE(run(src.view, dst.view).ok());
  bool intact = false;
  Padded got = download(runner, dst, intact);
  EXPECT_TRUE(intact) << op << " wrote into the row padding";
  EXPECT_TRUE(all_near(got.view, ref, tol));
  // In place on the padded source.
  ASSERT_TRUE(run(src.view, src.view).ok());
  got = download(runner, src, intact);
  EXPECT_TRUE(intact);
  EXPECT_TRUE(all_near(got.view, ref, tol));
}

}  // namespace tandem::test::pointops
