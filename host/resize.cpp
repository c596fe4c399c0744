// resize: validation, dispatch, the OpenMP implementation and the op-table entry.
//
// CPU: separable, as OpenCV does it. Column taps and weights are tabulated
// once; each thread takes a band of output rows and keeps the two most recent
// horizontally resampled source rows, so every source row a band needs is
// resampled once and the vertical pass is a plain vectorisable blend.
#include "tandem/ops/resize.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <vector>

#include "host/image_checks.hpp"
#include "host/parallel.hpp"
#include "kernels/resize.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

constexpr std::string_view kOp = "resize";
constexpr std::string_view kAccepted = "u8, u16 or f32 with 1, 3 or 4 channels";

bool supported(DType t, int c) {
  return (t == DType::u8 || t == DType::u16 || t == DType::f32) && (c == 1 || c == 3 || c == 4);
}

// u8 interpolates in 11-bit fixed point (int), u16 and f32 in float.
template <class T>
using Acc = std::conditional_t<std::is_same_v<T, std::uint8_t>, int, float>;

template <class T>
struct Taps {
  std::vector<int> offset;  // 2 per output coordinate: i0, i1 (elements for x, rows for y)
  std::vector<Acc<T>> weight;  // 2 per output coordinate
};

template <class T>
Taps<T> make_taps(int src_n, int dst_n, int stride) {
  Taps<T> t;
  t.offset.resize(2 * std::size_t(dst_n));
  t.weight.resize(2 * std::size_t(dst_n));
  const double scale = kern::resize_scale(src_n, dst_n);
  for (int d = 0; d < dst_n; ++d) {
    const kern::LinearTap tap = kern::linear_tap(d, scale, src_n);
    t.offset[2 * d] = tap.i0 * stride;
    t.offset[2 * d + 1] = tap.i1 * stride;
    if constexpr (std::is_same_v<Acc<T>, int>) {
      t.weight[2 * d] = kern::fixed_weight(1.0f - tap.f);
      t.weight[2 * d + 1] = kern::fixed_weight(tap.f);
    } else {
      t.weight[2 * d] = 1.0f - tap.f;
      t.weight[2 * d + 1] = tap.f;
    }
  }
  return t;
}

template <class T, int C>
TANDEM_CPU_CLONES void resize_hrow(const T* __restrict s, Acc<T>* __restrict h, const int* __restrict xo,
                                   const Acc<T>* __restrict xw, int dw) {
  for (int dx = 0; dx < dw; ++dx) {
    const T* p0 = s + xo[2 * dx];
    const T* p1 = s + xo[2 * dx + 1];
    const Acc<T> a0 = xw[2 * dx];
    const Acc<T> a1 = xw[2 * dx + 1];
    for (int c = 0; c < C; ++c) {
      if constexpr (std::is_same_v<Acc<T>, int>)
        h[dx * C + c] = kern::resize_h_fixed(p0[c], p1[c], a0, a1);
      else
        h[dx * C + c] = kern::resize_lerp(static_cast<float>(p0[c]), static_cast<float>(p1[c]), a0, a1);
    }
  }
}

template <class T>
TANDEM_CPU_CLONES void resize_vrow(const Acc<T>* __restrict h0, const Acc<T>* __restrict h1, T* __restrict out,
                                   Acc<T> b0, Acc<T> b1, int n) {
  for (int i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<Acc<T>, int>)
      out[i] = kern::resize_v_fixed(h0[i], h1[i], b0, b1);
    else
      out[i] = kern::resize_store<T>(kern::resize_lerp(h0[i], h1[i], b0, b1));
  }
}

template <class T, int C>
Status resize_cpu(const View& src, const View& dst, const Exec& exec) {
  using A = Acc<T>;
  const int sh = static_cast<int>(src.height());
  const int sw = static_cast<int>(src.width());
  const int dh = static_cast<int>(dst.height());
  const int dw = static_cast<int>(dst.width());
  const Taps<T> xt = make_taps<T>(sw, dw, C);
  const Taps<T> yt = make_taps<T>(sh, dh, 1);
  const int threads = std::max(1, std::min(cpu_threads(exec), dh));
  const std::size_t row = (std::size_t(dw) * C * sizeof(A) + 63) / 64 * 64;
  std::unique_ptr<std::byte[]> scratch(new (std::nothrow) std::byte[2 * row * std::size_t(threads) + 64]);
  if (!scratch) return detail::op_error(kOp, Errc::out_of_memory, "cannot allocate resize scratch");
  const auto base = (reinterpret_cast<std::uintptr_t>(scratch.get()) + 63) / 64 * 64;

#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const int y0 = static_cast<int>(std::int64_t(dh) * t / nt);
    const int y1 = static_cast<int>(std::int64_t(dh) * (t + 1) / nt);
    A* bufs[2] = {reinterpret_cast<A*>(base + 2 * row * std::size_t(t)),
                  reinterpret_cast<A*>(base + 2 * row * std::size_t(t) + row)};
    int held[2] = {-1, -1};  // the source row each buffer holds
    // The resampled source row `sy`, computed into a buffer not holding `keep`.
    auto hrow = [&](int sy, int keep) -> const A* {
      for (int b = 0; b < 2; ++b)
        if (held[b] == sy) return bufs[b];
      const int b = held[0] == keep ? 1 : 0;
      resize_hrow<T, C>(src.row<const T>(sy), bufs[b], xt.offset.data(), xt.weight.data(), dw);
      held[b] = sy;
      return bufs[b];
    };
    for (int dy = y0; dy < y1; ++dy) {
      const int s0 = yt.offset[2 * dy];
      const int s1 = yt.offset[2 * dy + 1];
      const A* h0 = hrow(s0, -1);
      const A* h1 = s1 == s0 ? h0 : hrow(s1, s0);
      resize_vrow<T>(h0, h1, dst.row<T>(dy), yt.weight[2 * dy], yt.weight[2 * dy + 1], dw * C);
    }
  }
  return {};
}

Status resize_cpu_dispatch(const View& src, const View& dst, const Exec& exec) {
  const auto c = src.channels();
  auto by_channels = [&](auto tag) -> Status {
    using T = decltype(tag);
    if (c == 1) return resize_cpu<T, 1>(src, dst, exec);
    if (c == 3) return resize_cpu<T, 3>(src, dst, exec);
    return resize_cpu<T, 4>(src, dst, exec);
  };
  switch (src.dtype) {
    case DType::u8: return by_channels(std::uint8_t{});
    case DType::u16: return by_channels(std::uint16_t{});
    default: return by_channels(float{});
  }
}

Status check_size(std::int64_t w, std::int64_t h) {
  if (w < 1 || h < 1 || w > kResizeMaxSide || h > kResizeMaxSide)
    return detail::op_error(kOp, Errc::invalid_argument,
                            "output size " + std::to_string(w) + "x" + std::to_string(h) +
                                " (width x height) must be within 1.." + std::to_string(kResizeMaxSide));
  return {};
}

}  // namespace

Status resize(const View& src, const View& dst, const ResizeParams& p, const Exec& exec) {
  TANDEM_TRY(detail::check_image_input(kOp, src, exec, supported, kAccepted));
  const std::int64_t w = p.width ? p.width : dst.width();
  const std::int64_t h = p.height ? p.height : dst.height();
  TANDEM_TRY(check_size(w, h));
  TANDEM_TRY(detail::check_image_output(kOp, src, dst, h, w, exec));
  if (exec.device.is_cpu()) return resize_cpu_dispatch(src, dst, exec);
#if TANDEM_WITH_CUDA
  return cuda::resize(src, dst, exec.stream);
#else
  return detail::op_error(kOp, Errc::unsupported, cuda_status());
#endif
}

Status resize(const View& src, Tensor& dst, const ResizeParams& p, const Exec& exec) {
  TANDEM_TRY(detail::check_image_input(kOp, src, exec, supported, kAccepted));
  TANDEM_TRY(check_size(p.width, p.height));
  Tensor out;
  TANDEM_TRY(Tensor::create_image(src.dtype, p.height, p.width, src.channels(), exec.device, out));
  TANDEM_TRY(resize(src, out.view(), p, exec));
  dst = std::move(out);
  return {};
}

namespace detail {

namespace {
Status run_resize(const OpArgs& args, const View& src, Tensor& dst, const Exec& exec) {
  ResizeParams p;
  p.width = args.integer("width");
  p.height = args.integer("height");
  return resize(src, dst, p, exec);
}
}  // namespace

std::span<const OpSpec* const> resize_ops() {
  static const OpSpec spec{
      "resize",
      OpKind::image,
      "Bilinear resize to width x height (half-pixel centres, edge pixels replicated, no "
      "antialiasing); u8 within 1 of OpenCV (11-bit fixed-point weights)",
      "cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)",
      {ParamSpec{"width", ParamType::integer, "", 1, double(kResizeMaxSide), {}, "output width in pixels", false},
       ParamSpec{"height", ParamType::integer, "", 1, double(kResizeMaxSide), {}, "output height in pixels", false}},
      {DType::u8, DType::u16, DType::f32},
      kChannels134,
      &run_resize,
      {}};
  static const OpSpec* const list[] = {&spec};
  return list;
}

}  // namespace detail
}  // namespace tandem
