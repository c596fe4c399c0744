// resize: validation, dispatch, the OpenMP implementation and the op-table entry.
//
// CPU: separable, as OpenCV does it. Column taps and weights are tabulated
// once; each thread takes a band of output rows and keeps the two most recent
// horizontally resampled source rows, so every source row a band needs is
// resampled once and the vertical pass is a plain vectorisable blend.
#include "tandem/ops/resize.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <type_traits>
#include <vector>

#include "host/ops/image_checks.hpp"
#include "host/core/simd.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "host/ops/parallel_pieces.hpp"
#include "host/ops/resize_hwy.hpp"
#include "kernels/resize.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

constexpr std::string_view kOp = "resize";

// u8 interpolates in 11-bit fixed point (int), u16 and f32 in float.
template <class T>
using Acc = std::conditional_t<std::is_same_v<T, std::uint8_t>, int, float>;

// Taps per output element (x: one per channel, so the horizontal pass is a
// single flat loop the vectoriser turns into gathers) or per output row (y).
template <class A>
struct Taps {
  std::vector<int> i0, i1;  // source element (x) or row (y)
  std::vector<A> w0, w1;    // their weights
};

template <class A>
Taps<A> make_taps(int src_n, int dst_n, int channels) {
  Taps<A> t;
  const std::size_t n = std::size_t(dst_n) * channels;
  t.i0.resize(n);
  t.i1.resize(n);
  t.w0.resize(n);
  t.w1.resize(n);
  const double scale = kern::resize_scale(src_n, dst_n);
  for (int d = 0; d < dst_n; ++d) {
    const kern::LinearTap tap = kern::linear_tap(d, scale, src_n);
    for (int c = 0; c < channels; ++c) {
      const std::size_t i = std::size_t(d) * channels + c;
      t.i0[i] = tap.i0 * channels + c;
      t.i1[i] = tap.i1 * channels + c;
      if constexpr (std::is_same_v<A, int>) {
        t.w0[i] = kern::fixed_weight(1.0f - tap.f);
        t.w1[i] = kern::fixed_weight(tap.f);
      } else {
        t.w0[i] = 1.0f - tap.f;
        t.w1[i] = tap.f;
      }
    }
  }
  return t;
}

// Horizontal pass straight from a u8 / u16 row (not widened: the row shrinks a lot, so few
// of its elements are read, and the vector gathers load 32-bit elements only).
template <class T, class A>
void hrow_narrow(const T* s, A* h, const int* i0, const int* i1, const A* w0, const A* w1, int n) {
  for (int i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<A, int>)
      h[i] = kern::resize_h_fixed(s[i0[i]], s[i1[i]], w0[i], w1[i]);
    else
      h[i] = kern::resize_lerp(static_cast<float>(s[i0[i]]), static_cast<float>(s[i1[i]]), w0[i], w1[i]);
  }
}

// Horizontal pass of source row s (not widened) into h: vector gathers for f32 rows.
template <class T, class A>
void hrow_direct(const T* s, A* h, const int* i0, const int* i1, const A* w0, const A* w1, int n) {
  if constexpr (std::is_same_v<T, float>)
    simd::resize_hrow(s, h, i0, i1, w0, w1, n);
  else
    hrow_narrow<T, A>(s, h, i0, i1, w0, w1, n);
}

template <class T, int C>
Status resize_cpu(const View& src, const View& dst, const Exec& exec) {
  using A = Acc<T>;
  const int sh = static_cast<int>(src.height());
  const int sw = static_cast<int>(src.width());
  const int dh = static_cast<int>(dst.height());
  const int dw = static_cast<int>(dst.width());
  const int threads = std::max(1, std::min(cpu_threads(exec), dh));
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    if (sw == 2 * dw && sh == 2 * dh) {
      const std::int64_t bands = threads == 1 ? 1 : std::min<std::int64_t>(dh, std::int64_t(threads) * 8);
      pointops::parallel_pieces(threads, bands, [&](int, std::int64_t band) {
        const int y0 = static_cast<int>(std::int64_t(dh) * band / bands);
        const int y1 = static_cast<int>(std::int64_t(dh) * (band + 1) / bands);
        for (int y = y0; y < y1; ++y)
          simd::resize_u8_half_row(src.row<const T>(2 * y), src.row<const T>(2 * y + 1), dst.row<T>(y), dw, C);
      });
      return {};
    }
  }
  Taps<A> xt, yt;
  try {
    xt = make_taps<A>(sw, dw, C);
    yt = make_taps<A>(sh, dh, 1);
  } catch (const std::bad_alloc&) {
    return detail::op_error(kOp, Errc::out_of_memory, "cannot allocate the resize tables");
  }
  // u8 with 3 or 4 channels: whole-pixel horizontal pass (simd::resize_u8_hrow_px) on
  // per-pixel tables: source byte offsets and the two weights, each 4 times.
  constexpr bool pixel_taps = std::is_same_v<T, std::uint8_t> && C >= 3;
  std::vector<int> px0, px1, pw0, pw1;
  int px_n = 0;  // leading output pixels whose 4-byte source loads stay inside the row
  if constexpr (pixel_taps) {
    try {
      px0.resize(std::size_t(dw));
      px1.resize(std::size_t(dw));
      pw0.resize(4 * std::size_t(dw));
      pw1.resize(4 * std::size_t(dw));
    } catch (const std::bad_alloc&) {
      return detail::op_error(kOp, Errc::out_of_memory, "cannot allocate the resize tables");
    }
    for (int d = 0; d < dw; ++d) {
      const std::size_t e = std::size_t(d) * C;
      px0[d] = xt.i0[e];
      px1[d] = xt.i1[e];
      std::fill_n(pw0.begin() + 4 * d, 4, xt.w0[e]);
      std::fill_n(pw1.begin() + 4 * d, 4, xt.w1[e]);
      if (px_n == d && std::max(xt.i0[e], xt.i1[e]) + 4 <= sw * C) px_n = d + 1;
    }
  }
  // u8 when the height does not grow: blend the two source rows first (exact integers), then
  // resample along the blended row (resize_u8_hgather_pairs, or by whole pixels for 3 and 4
  // channels: resize_u8_hgather_px) -- one blend per output row instead of two horizontal
  // passes.
  const bool vertical_first = std::is_same_v<T, std::uint8_t> && dh <= sh;
  // Widening the source row pays off unless the row shrinks a lot (or is f32 already).
  const bool widen = !std::is_same_v<T, float> && std::int64_t(dw) * 4 >= sw && !vertical_first && !pixel_taps;
  auto round64 = [](std::size_t b) { return (b + 63) / 64 * 64; };
  // Slack of 4 elements: resize_u8_hrow_px writes, resize_u8_hgather_px reads, that far past.
  const std::size_t hbytes = round64(std::size_t(dw) * C * sizeof(A) + 4 * sizeof(A));
  const std::size_t sbytes = widen || vertical_first ? round64(std::size_t(sw) * C * sizeof(A) + 4 * sizeof(A)) : 0;
  const std::size_t per_thread = 2 * hbytes + sbytes;
  std::unique_ptr<std::byte[]> scratch(new (std::nothrow) std::byte[per_thread * std::size_t(threads) + 64]);
  if (!scratch) return detail::op_error(kOp, Errc::out_of_memory, "cannot allocate resize scratch");
  const auto base = (reinterpret_cast<std::uintptr_t>(scratch.get()) + 63) / 64 * 64;

  // Bands of output rows, handed out in order as threads free up (pointops::parallel_pieces:
  // a thread the OS has not scheduled yet does not hold the others up). Each thread keeps
  // its two resampled rows across the bands it takes, so consecutive bands reuse them.
  const std::int64_t bands = threads == 1 ? 1 : std::min<std::int64_t>(dh, std::int64_t(threads) * 8);
  std::vector<std::array<int, 2>> held_by(std::size_t(threads), std::array<int, 2>{-1, -1});
  pointops::parallel_pieces(threads, bands, [&](int t, std::int64_t band) {
    const int y0 = static_cast<int>(std::int64_t(dh) * band / bands);
    const int y1 = static_cast<int>(std::int64_t(dh) * (band + 1) / bands);
    const std::uintptr_t mine = base + per_thread * std::size_t(t);
    A* bufs[2] = {reinterpret_cast<A*>(mine), reinterpret_cast<A*>(mine + hbytes)};
    A* wide = reinterpret_cast<A*>(mine + 2 * hbytes);
    std::array<int, 2>& held = held_by[std::size_t(t)];  // the source row each buffer holds
    // The resampled source row `sy`, computed into a buffer not holding `keep`.
    auto hrow = [&](int sy, int keep) -> const A* {
      for (int b = 0; b < 2; ++b)
        if (held[b] == sy) return bufs[b];
      const int b = held[0] == keep ? 1 : 0;
      const T* s = src.row<const T>(sy);
      if constexpr (pixel_taps) {
        simd::resize_u8_hrow_px(s, bufs[b], px0.data(), px1.data(), pw0.data(), pw1.data(), px_n, C);
        const std::size_t e = std::size_t(px_n) * C;
        hrow_narrow<T, A>(s, bufs[b] + e, xt.i0.data() + e, xt.i1.data() + e, xt.w0.data() + e, xt.w1.data() + e,
                          (dw - px_n) * C);
      } else if (widen) {
        if constexpr (!std::is_same_v<T, float>) simd::resize_widen(s, wide, sw * C);
        simd::resize_hrow(wide, bufs[b], xt.i0.data(), xt.i1.data(), xt.w0.data(), xt.w1.data(), dw * C);
      } else {
        hrow_direct<T, A>(s, bufs[b], xt.i0.data(), xt.i1.data(), xt.w0.data(), xt.w1.data(), dw * C);
      }
      held[b] = sy;
      return bufs[b];
    };
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      if (vertical_first) {
        // Column chunks of about 2048 blended ints (8 KB), each blended into the start of
        // `wide` and gathered from there at once, so the blended row is read back from L1 (a
        // whole RGB row of 4096 pixels is 48 KB of ints). A chunk blends from its first
        // output's first tap to 4 elements past its last output's last tap (what the gathers
        // read), within the row; past the row, the gathers read the zeros put there first
        // (weight 0, or a lane dropped), or values of an earlier chunk (the same).
        std::fill_n(wide, std::size_t(sw) * C + 4, 0);
        const int chunk = std::max(16, static_cast<int>(std::int64_t(dw) * 2048 / (std::int64_t(sw) * C)));
        const int* first_tap = pixel_taps ? px0.data() : xt.i0.data();
        const int* last_tap = pixel_taps ? px1.data() : xt.i1.data();
        for (int dy = y0; dy < y1; ++dy) {
          const T* r0 = src.row<const T>(yt.i0[dy]);
          const T* r1 = src.row<const T>(yt.i1[dy]);
          const T* n0 = dy + 1 < y1 ? src.row<const T>(yt.i0[dy + 1]) : nullptr;
          const T* n1 = dy + 1 < y1 ? src.row<const T>(yt.i1[dy + 1]) : nullptr;
          T* out = dst.row<T>(dy);
          for (int xa = 0; xa < dw; xa += chunk) {
            const int xb = std::min(dw, xa + chunk);
            const int lo = first_tap[xa];
            const int hi = std::min(sw * C, last_tap[xb - 1] + 4);
            simd::resize_u8_vblend(r0 + lo, r1 + lo, wide, yt.w0[dy], yt.w1[dy], hi - lo, n0 ? n0 + lo : nullptr,
                                   n1 ? n1 + lo : nullptr);
            if constexpr (pixel_taps)
              simd::resize_u8_hgather_px(wide, lo, out + std::size_t(xa) * C, px0.data() + xa, px1.data() + xa,
                                         pw0.data() + 4 * std::size_t(xa), pw1.data() + 4 * std::size_t(xa), xb - xa,
                                         C);
            else
              simd::resize_u8_hgather_pairs(wide, lo, out + xa, xt.i0.data() + xa, xt.w0.data() + xa,
                                            xt.w1.data() + xa, xb - xa);
          }
        }
      }
    }
    for (int dy = vertical_first ? y1 : y0; dy < y1; ++dy) {
      const int s0 = yt.i0[dy];
      const int s1 = yt.i1[dy];
      const A* h0 = hrow(s0, -1);
      const A* h1 = s1 == s0 ? h0 : hrow(s1, s0);
      simd::resize_vrow(h0, h1, dst.row<T>(dy), yt.w0[dy], yt.w1[dy], dw * C);
    }
  });
  return {};
}

Status resize_cpu_dispatch(const View& src, const View& dst, const ResizeParams&, const Exec& exec) {
  TANDEM_TRY(detail::simd_ready());  // the TANDEM_SIMD cap, before the first vector kernel
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

const OpSpec& spec() {
  static const OpSpec s = detail::make_op<ResizeParams>({
      .name = "resize",
      .doc = "Bilinear resize to width x height (half-pixel centres, edge pixels replicated, no "
             "antialiasing); u8 within 1 of OpenCV (11-bit fixed-point weights)",
      .semantics = "cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)",
      .params = {detail::field(&ResizeParams::width, "width", "output width in pixels")
                     .in(1, double(kResizeMaxSide))
                     .required(),
                 detail::field(&ResizeParams::height, "height", "output height in pixels")
                     .in(1, double(kResizeMaxSide))
                     .required()},
      .layouts = detail::standard_image_layouts(),
      .run = resize,
  });
  return s;
}

}  // namespace

Status resize(const View& src, const View& dst, const ResizeParams& p, const Exec& exec) {
  TANDEM_TRY(detail::check_image_input(spec(), src, exec));
  // 0 takes the side from dst, so the declared range applies to the resolved sides.
  const std::int64_t w = p.width ? p.width : dst.width();
  const std::int64_t h = p.height ? p.height : dst.height();
  TANDEM_TRY(check_size(w, h));
  TANDEM_TRY(detail::check_image_output(kOp, src, dst, h, w, exec));
  return detail::on_device(kOp, src, dst, p, exec, resize_cpu_dispatch,
                           [&](auto stream) { return cuda::resize(src, dst, stream); });
}

Status resize(const View& src, Tensor& dst, const ResizeParams& p, const Exec& exec) {
  // Here the declared range applies to the fields themselves: there is no dst to take a side from.
  Status checked = detail::check_image_input(spec(), src, exec);
  if (checked.ok()) checked = detail::check_params(spec(), p);
  return detail::into_new_image(kOp, checked, src, dst, p, exec, resize, {.height = p.height, .width = p.width});
}

TANDEM_OP_SPECS(resize, &spec())

}  // namespace tandem
