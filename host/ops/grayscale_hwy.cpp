// grayscale's row loop in Highway (see invert_hwy.cpp for the pattern): each target loads
// a full vector of pixels (LoadInterleaved3/4 splits the channels), widens each channel to
// int32 a part at a time, and forms OpenCV 4's fixed-point luma exactly as
// kern::gray_pixel; f32 multiplies and adds in the same order, without FMA.
#include "host/ops/grayscale_hwy.hpp"

#include "kernels/grayscale.cuh"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/grayscale_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/cache_control.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tandem::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The channels of Lanes(dt) pixels (alpha dropped).
template <int C, class D, class V = hn::Vec<D>>
HWY_INLINE void load_rgb(D dt, const hn::TFromD<D>* p, V& r, V& g, V& b) {
  if constexpr (C == 3) {
    hn::LoadInterleaved3(dt, p, r, g, b);
  } else {
    V a;
    hn::LoadInterleaved4(dt, p, r, g, b, a);
  }
}

// (R * 9798 + G * 19235 + B * 3735 + 2^14) >> 15 of int32 lanes (exact: < 2^31 for u16).
template <class D32, class V32 = hn::Vec<D32>>
HWY_INLINE V32 luma32(D32 d32, V32 r, V32 g, V32 b) {
  const V32 y = hn::Add(hn::Add(hn::Mul(r, hn::Set(d32, std::int32_t(kern::kGrayR15))),
                                hn::Mul(g, hn::Set(d32, std::int32_t(kern::kGrayG15)))),
                        hn::Add(hn::Mul(b, hn::Set(d32, std::int32_t(kern::kGrayB15))),
                                hn::Set(d32, std::int32_t(1) << (kern::kGrayShift - 1))));
  return hn::ShiftRight<kern::kGrayShift>(y);
}

// Luma of the pixels whose channels are the part `dp` (a half or quarter of a full vector)
// of r, g, b: widened to int32, narrowed back to T, stored at d.
template <class DP, class T = hn::TFromD<DP>>
HWY_INLINE void luma_part(DP dp, hn::Vec<DP> r, hn::Vec<DP> g, hn::Vec<DP> b, T* d) {
  const hn::Rebind<std::int32_t, DP> d32;
  const auto y = luma32(d32, hn::PromoteTo(d32, r), hn::PromoteTo(d32, g), hn::PromoteTo(d32, b));
  hn::StoreU(hn::DemoteTo(dp, y), dp, d);
}

// Integer luma widening each channel to int32 a part at a time (u16; u8 off x86): halves of
// a vector of u16, quarters of one of u8.
#if HWY_TARGET != HWY_SCALAR  // the one-lane target has no halves
template <class DP, class T = hn::TFromD<DP>>
HWY_INLINE void luma_half(DP dh, hn::Vec<DP> r, hn::Vec<DP> g, hn::Vec<DP> b, T* d) {
  if constexpr (sizeof(T) == 1) {
    const hn::Half<DP> dq;  // as many u8 lanes as a full vector has int32
    luma_part(dq, hn::LowerHalf(dq, r), hn::LowerHalf(dq, g), hn::LowerHalf(dq, b), d);
    luma_part(dq, hn::UpperHalf(dq, r), hn::UpperHalf(dq, g), hn::UpperHalf(dq, b), d + hn::Lanes(dq));
  } else {
    luma_part(dh, r, g, b, d);
  }
}
#endif

template <class T, int C>
void gray_int(const T* HWY_RESTRICT s, T* HWY_RESTRICT d, std::int64_t n) {
  std::int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR  // the one-lane target has no halves
  const hn::ScalableTag<T> dt;
  const hn::Half<decltype(dt)> dh;
  const std::int64_t step = std::int64_t(hn::Lanes(dt));
  const std::int64_t h = std::int64_t(hn::Lanes(dh));
  for (; i + step <= n; i += step) {
    hn::Vec<decltype(dt)> r, g, b;
    load_rgb<C>(dt, s + C * i, r, g, b);
    luma_half(dh, hn::LowerHalf(dh, r), hn::LowerHalf(dh, g), hn::LowerHalf(dh, b), d + i);
    luma_half(dh, hn::UpperHalf(dh, r), hn::UpperHalf(dh, g), hn::UpperHalf(dh, b), d + i + h);
  }
#endif
  const kern::GrayOp<T, C> op;
  for (; i < n; ++i) d[i] = op(s + C * i);
}

#if HWY_ARCH_X86 && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
// x86 vector targets (not EMU128, clang's emulated fallback, whose ReorderWidenMulAccumulate
// does not sum pairs within a block), u8: no deinterleave. Each 128-bit block of a vector gets 4 whole pixels (C = 4: as
// loaded; C = 3: a lane permutation gives block k the 12 bytes of pixels 4k..4k+3), a byte
// shuffle per block makes int16 pairs (R, G) and (B, 0), and one pmaddwd
// (ReorderWidenMulAccumulate, which on x86 sums adjacent pairs within the block) each gives
// 9798 R + 19235 G and 3735 B exactly in int32. The int32 -> int16 packing (ReorderDemote2To)
// works per block too; one final lane permutation puts the pixels back in order. The tests
// run every x86 target against the scalar rule.
template <int C>
void gray_u8_blocks(const std::uint8_t* HWY_RESTRICT s, std::uint8_t* HWY_RESTRICT d, std::int64_t n, bool stream) {
  const hn::ScalableTag<std::uint8_t> d8;
  const hn::Half<decltype(d8)> dh8;
  const hn::Repartition<std::int16_t, decltype(d8)> d16;
  const hn::Repartition<std::int32_t, decltype(d8)> d32;
  const hn::Repartition<std::uint32_t, decltype(d8)> du32;
  constexpr std::uint8_t z = 0x80;  // TableLookupBytesOr0: a zero byte
  alignas(16) static constexpr std::uint8_t kRG3[16] = {0, z, 1, z, 3, z, 4, z, 6, z, 7, z, 9, z, 10, z};
  alignas(16) static constexpr std::uint8_t kB3[16] = {2, z, z, z, 5, z, z, z, 8, z, z, z, 11, z, z, z};
  alignas(16) static constexpr std::uint8_t kRG4[16] = {0, z, 1, z, 4, z, 5, z, 8, z, 9, z, 12, z, 13, z};
  alignas(16) static constexpr std::uint8_t kB4[16] = {2, z, z, z, 6, z, z, z, 10, z, z, z, 14, z, z, z};
  const auto rg_mask = hn::LoadDup128(d8, C == 3 ? kRG3 : kRG4);
  const auto b_mask = hn::LoadDup128(d8, C == 3 ? kB3 : kB4);
  const auto w_rg = hn::BitCast(d16, hn::Set(d32, std::int32_t(kern::kGrayR15 | (kern::kGrayG15 << 16))));
  const auto w_b = hn::BitCast(d16, hn::Set(d32, std::int32_t(kern::kGrayB15)));
  const auto half = hn::Set(d32, std::int32_t(1) << (kern::kGrayShift - 1));
  const std::size_t lanes = hn::Lanes(du32);  // pixels per group; 4 groups per output vector
  const std::size_t blocks = lanes / 4;
  HWY_ALIGN std::int32_t spread[hn::MaxLanes(du32)];  // C = 3: block k <- dwords 3k .. 3k + 3
  HWY_ALIGN std::int32_t order[hn::MaxLanes(du32)];   // output dword <- packed dword
  for (std::size_t j = 0; j < lanes; ++j) {
    spread[j] = std::int32_t(3 * (j / 4) + j % 4);
    const std::size_t g = j / blocks, k = j % blocks;  // output dword j: group g, block k
    order[j] = std::int32_t(2 * blocks * (g / 2) + 2 * k + g % 2);
  }
  const auto spread_idx = hn::SetTableIndices(du32, spread);
  const auto order_idx = hn::SetTableIndices(du32, order);
  auto luma = [&](const std::uint8_t* p) {
    auto px = hn::LoadU(d8, p);
    if constexpr (C == 3) px = hn::BitCast(d8, hn::TableLookupLanes(hn::BitCast(du32, px), spread_idx));
    const auto rg = hn::BitCast(d16, hn::TableLookupBytesOr0(px, rg_mask));
    const auto b = hn::BitCast(d16, hn::TableLookupBytesOr0(px, b_mask));
    auto unused = hn::Zero(d32);
    const auto y = hn::ReorderWidenMulAccumulate(d32, rg, w_rg,
                                                 hn::ReorderWidenMulAccumulate(d32, b, w_b, half, unused), unused);
    return hn::ShiftRight<kern::kGrayShift>(y);
  };
  const std::int64_t step = std::int64_t(4 * lanes);
  const std::int64_t g = std::int64_t(lanes) * C;  // source bytes per group
  // C = 3 loads 4 bytes per pixel: the last group reads `lanes` bytes past its pixels.
  const std::int64_t over = C == 3 ? std::int64_t(lanes) : 0;
  const kern::GrayOp<std::uint8_t, C> op;
  std::int64_t i = 0;
  // Non-temporal stores (pointops::stream_output) need the vector's alignment.
  if (stream)
    for (; i < n && reinterpret_cast<std::uintptr_t>(d + i) % std::uintptr_t(step) != 0; ++i) d[i] = op(s + C * i);
  for (; (i + step) * C + over <= n * C; i += step) {
    const std::uint8_t* p = s + C * i;
    const auto y01 = hn::ReorderDemote2To(d16, luma(p), luma(p + g));
    const auto y23 = hn::ReorderDemote2To(d16, luma(p + 2 * g), luma(p + 3 * g));
    const auto bytes = hn::Combine(d8, hn::DemoteTo(dh8, y23), hn::DemoteTo(dh8, y01));
    const auto y = hn::BitCast(d8, hn::TableLookupLanes(hn::BitCast(du32, bytes), order_idx));
    if (stream) hn::Stream(y, d8, d + i);
    else hn::StoreU(y, d8, d + i);
  }
  if (stream) hwy::FlushStream();
  for (; i < n; ++i) d[i] = op(s + C * i);
}
#endif

template <int C>
void gray_u8(const std::uint8_t* HWY_RESTRICT s, std::uint8_t* HWY_RESTRICT d, std::int64_t n, bool stream) {
#if HWY_ARCH_X86 && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
  gray_u8_blocks<C>(s, d, n, stream);
#else
  (void)stream;
  gray_int<std::uint8_t, C>(s, d, n);
#endif
}

// R * 0.299f + G * 0.587f + B * 0.114f, each product and sum rounded (as kern::gray_pixel).
template <int C>
void gray_f32(const float* HWY_RESTRICT s, float* HWY_RESTRICT d, std::int64_t n) {
  const hn::ScalableTag<float> df;
  const auto wr = hn::Set(df, 0.299f), wg = hn::Set(df, 0.587f), wb = hn::Set(df, 0.114f);
  const std::int64_t step = std::int64_t(hn::Lanes(df));
  std::int64_t i = 0;
  for (; i + step <= n; i += step) {
    hn::Vec<decltype(df)> r, g, b;
    load_rgb<C>(df, s + C * i, r, g, b);
    hn::StoreU(hn::Add(hn::Add(hn::Mul(r, wr), hn::Mul(g, wg)), hn::Mul(b, wb)), df, d + i);
  }
  const kern::GrayOp<float, C> op;
  for (; i < n; ++i) d[i] = op(s + C * i);
}

void GrayU8C3(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, bool stream) { gray_u8<3>(s, d, n, stream); }
void GrayU8C4(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, bool stream) { gray_u8<4>(s, d, n, stream); }
void GrayU16C3(const std::uint16_t* s, std::uint16_t* d, std::int64_t n) { gray_int<std::uint16_t, 3>(s, d, n); }
void GrayU16C4(const std::uint16_t* s, std::uint16_t* d, std::int64_t n) { gray_int<std::uint16_t, 4>(s, d, n); }
void GrayF32C3(const float* s, float* d, std::int64_t n) { gray_f32<3>(s, d, n); }
void GrayF32C4(const float* s, float* d, std::int64_t n) { gray_f32<4>(s, d, n); }

}  // namespace tandem::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::simd {
HWY_EXPORT(GrayU8C3);
HWY_EXPORT(GrayU8C4);
HWY_EXPORT(GrayU16C3);
HWY_EXPORT(GrayU16C4);
HWY_EXPORT(GrayF32C3);
HWY_EXPORT(GrayF32C4);

void gray_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, int channels, bool stream) {
  if (channels == 3) HWY_DYNAMIC_DISPATCH(GrayU8C3)(s, d, n, stream);
  else HWY_DYNAMIC_DISPATCH(GrayU8C4)(s, d, n, stream);
}
void gray_row(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, int channels, bool) {
  if (channels == 3) HWY_DYNAMIC_DISPATCH(GrayU16C3)(s, d, n);
  else HWY_DYNAMIC_DISPATCH(GrayU16C4)(s, d, n);
}
void gray_row(const float* s, float* d, std::int64_t n, int channels, bool) {
  if (channels == 3) HWY_DYNAMIC_DISPATCH(GrayF32C3)(s, d, n);
  else HWY_DYNAMIC_DISPATCH(GrayF32C4)(s, d, n);
}
}  // namespace tandem::simd
#endif
