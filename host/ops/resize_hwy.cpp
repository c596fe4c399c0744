// resize's vector loops in Highway (see invert_hwy.cpp for the pattern).
#include "host/ops/resize_hwy.hpp"

#include "kernels/resize.cuh"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/resize_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tandem::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET != HWY_SCALAR  // the one-lane target has no halves: scalar loops only
// Halving of one channel: from 2 * Lanes(d8) consecutive values of two rows (a: the first
// Lanes(d8), b: the next; 0 and 1: the rows), out[x] = (v[2x] + v[2x+1] + w[2x] + w[2x+1]
// + 2) >> 2. Each pair is one 16-bit lane (low byte + high byte); order is kept throughout.
template <class D8, class V = hn::Vec<D8>>
HWY_INLINE V half_pairs(D8 d8, V a0, V b0, V a1, V b1) {
  const hn::Repartition<std::uint16_t, D8> d16;
  const hn::Half<D8> dh;
  const hn::Rebind<std::int16_t, decltype(dh)> di16;
  const auto low = hn::Set(d16, std::uint16_t(0xFF));
  const auto two = hn::Set(d16, std::uint16_t(2));
  auto quad = [&](V x0, V x1) {
    const auto u0 = hn::BitCast(d16, x0), u1 = hn::BitCast(d16, x1);
    const auto sum = hn::Add(hn::Add(hn::And(u0, low), hn::ShiftRight<8>(u0)),
                             hn::Add(hn::And(u1, low), hn::ShiftRight<8>(u1)));
    // At most 255: the saturating narrowing of int16 is exact.
    return hn::DemoteTo(dh, hn::BitCast(di16, hn::ShiftRight<2>(hn::Add(sum, two))));
  };
  return hn::Combine(d8, quad(b0, b1), quad(a0, a1));
}

// Lanes(d8) output pixels of C interleaved channels from 2 * Lanes(d8) source pixels.
template <int C, class D8>
HWY_INLINE void half_block(D8 d8, const std::uint8_t* r0, const std::uint8_t* r1, std::uint8_t* out) {
  const std::size_t n = hn::Lanes(d8) * C;  // bytes of the first Lanes(d8) source pixels
  using V = hn::Vec<D8>;
  if constexpr (C == 1) {
    hn::StoreU(half_pairs(d8, hn::LoadU(d8, r0), hn::LoadU(d8, r0 + n), hn::LoadU(d8, r1), hn::LoadU(d8, r1 + n)),
               d8, out);
  } else if constexpr (C == 3) {
    V a0[3], b0[3], a1[3], b1[3];
    hn::LoadInterleaved3(d8, r0, a0[0], a0[1], a0[2]);
    hn::LoadInterleaved3(d8, r0 + n, b0[0], b0[1], b0[2]);
    hn::LoadInterleaved3(d8, r1, a1[0], a1[1], a1[2]);
    hn::LoadInterleaved3(d8, r1 + n, b1[0], b1[1], b1[2]);
    hn::StoreInterleaved3(half_pairs(d8, a0[0], b0[0], a1[0], b1[0]), half_pairs(d8, a0[1], b0[1], a1[1], b1[1]),
                          half_pairs(d8, a0[2], b0[2], a1[2], b1[2]), d8, out);
  } else {
    V a0[4], b0[4], a1[4], b1[4];
    hn::LoadInterleaved4(d8, r0, a0[0], a0[1], a0[2], a0[3]);
    hn::LoadInterleaved4(d8, r0 + n, b0[0], b0[1], b0[2], b0[3]);
    hn::LoadInterleaved4(d8, r1, a1[0], a1[1], a1[2], a1[3]);
    hn::LoadInterleaved4(d8, r1 + n, b1[0], b1[1], b1[2], b1[3]);
    hn::StoreInterleaved4(half_pairs(d8, a0[0], b0[0], a1[0], b1[0]), half_pairs(d8, a0[1], b0[1], a1[1], b1[1]),
                          half_pairs(d8, a0[2], b0[2], a1[2], b1[2]), half_pairs(d8, a0[3], b0[3], a1[3], b1[3]), d8,
                          out);
  }
}
#endif

// u8 halved exactly in both directions: both 11-bit weights are 1024 at every output pixel,
// so the fixed-point result ((a + b + c + d) * 2^20 + 2^21) >> 22 is (a + b + c + d + 2) >> 2:
// the same bits as the general path (and OpenCV's 2x shortcut).
template <int C>
void half_row(const std::uint8_t* HWY_RESTRICT r0, const std::uint8_t* HWY_RESTRICT r1, std::uint8_t* HWY_RESTRICT out,
              std::int64_t dw) {
  std::int64_t x = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<std::uint8_t> d8;
  const std::int64_t step = std::int64_t(hn::Lanes(d8));
  for (; x + step <= dw; x += step) half_block<C>(d8, r0 + 2 * x * C, r1 + 2 * x * C, out + x * C);
#endif
  for (; x < dw; ++x)
    for (int c = 0; c < C; ++c) {
      const int a = r0[2 * x * C + c], b = r0[(2 * x + 1) * C + c];
      const int d = r1[2 * x * C + c], e = r1[(2 * x + 1) * C + c];
      out[x * C + c] = static_cast<std::uint8_t>((a + b + d + e + 2) >> 2);
    }
}

// u8 with 3 or 4 channels, horizontal pass one output pixel at a time: its two source
// pixels' 4 bytes (from byte offsets x0[d], x1[d]) widened to int32 lanes, times the
// pixel's two 11-bit weights: s0 * w0 + s1 * w1 per channel (= kern::resize_h_fixed).
// Writes 4 ints per pixel (a 3-channel pixel's 4th is overwritten by the next one; h needs
// 1 int of slack). Only for pixels whose 4-byte loads stay inside the row.
template <int C>
void hrow_px(const std::uint8_t* HWY_RESTRICT s, int* HWY_RESTRICT h, const int* HWY_RESTRICT x0,
             const int* HWY_RESTRICT x1, const int* HWY_RESTRICT w0, const int* HWY_RESTRICT w1, std::int64_t n) {
#if HWY_TARGET != HWY_SCALAR
  const hn::FixedTag<std::int32_t, 4> d32;
  const hn::Rebind<std::uint8_t, decltype(d32)> d8;
  for (std::int64_t d = 0; d < n; ++d) {
    const auto a = hn::PromoteTo(d32, hn::LoadU(d8, s + x0[d]));
    const auto b = hn::PromoteTo(d32, hn::LoadU(d8, s + x1[d]));
    hn::StoreU(hn::Add(hn::Mul(a, hn::Set(d32, w0[d])), hn::Mul(b, hn::Set(d32, w1[d]))), d32, h + d * C);
  }
#else
  for (std::int64_t d = 0; d < n; ++d)
    for (int c = 0; c < C; ++c) h[d * C + c] = kern::resize_h_fixed(s[x0[d] + c], s[x1[d] + c], w0[d], w1[d]);
#endif
}

void HrowPxC3(const std::uint8_t* s, int* h, const int* x0, const int* x1, const int* w0, const int* w1,
              std::int64_t n) {
  hrow_px<3>(s, h, x0, x1, w0, w1, n);
}
void HrowPxC4(const std::uint8_t* s, int* h, const int* x0, const int* x1, const int* w0, const int* w1,
              std::int64_t n) {
  hrow_px<4>(s, h, x0, x1, w0, w1, n);
}

void HalfRowC1(const std::uint8_t* r0, const std::uint8_t* r1, std::uint8_t* out, std::int64_t dw) {
  half_row<1>(r0, r1, out, dw);
}
void HalfRowC3(const std::uint8_t* r0, const std::uint8_t* r1, std::uint8_t* out, std::int64_t dw) {
  half_row<3>(r0, r1, out, dw);
}
void HalfRowC4(const std::uint8_t* r0, const std::uint8_t* r1, std::uint8_t* out, std::int64_t dw) {
  half_row<4>(r0, r1, out, dw);
}

}  // namespace tandem::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::simd {
HWY_EXPORT(HalfRowC1);
HWY_EXPORT(HalfRowC3);
HWY_EXPORT(HalfRowC4);
HWY_EXPORT(HrowPxC3);
HWY_EXPORT(HrowPxC4);

void resize_u8_hrow_px(const std::uint8_t* s, int* h, const int* x0, const int* x1, const int* w0, const int* w1,
                       std::int64_t n, int channels) {
  if (channels == 3) HWY_DYNAMIC_DISPATCH(HrowPxC3)(s, h, x0, x1, w0, w1, n);
  else HWY_DYNAMIC_DISPATCH(HrowPxC4)(s, h, x0, x1, w0, w1, n);
}

void resize_u8_half_row(const std::uint8_t* r0, const std::uint8_t* r1, std::uint8_t* out, std::int64_t dw,
                        int channels) {
  if (channels == 1) HWY_DYNAMIC_DISPATCH(HalfRowC1)(r0, r1, out, dw);
  else if (channels == 3) HWY_DYNAMIC_DISPATCH(HalfRowC3)(r0, r1, out, dw);
  else HWY_DYNAMIC_DISPATCH(HalfRowC4)(r0, r1, out, dw);
}
}  // namespace tandem::simd
#endif
