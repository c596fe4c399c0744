// resize's vector loops in Highway (see invert_hwy.cpp for the pattern).
#include "host/ops/resize_hwy.hpp"

#include <cstring>

#include "host/core/simd.hpp"
#include "kernels/resize.cuh"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/resize_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/cache_control.h>
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
    // One variable per channel, not arrays: SVE vectors are sizeless and cannot be array elements.
    V a0c0, a0c1, a0c2, b0c0, b0c1, b0c2, a1c0, a1c1, a1c2, b1c0, b1c1, b1c2;
    hn::LoadInterleaved3(d8, r0, a0c0, a0c1, a0c2);
    hn::LoadInterleaved3(d8, r0 + n, b0c0, b0c1, b0c2);
    hn::LoadInterleaved3(d8, r1, a1c0, a1c1, a1c2);
    hn::LoadInterleaved3(d8, r1 + n, b1c0, b1c1, b1c2);
    hn::StoreInterleaved3(half_pairs(d8, a0c0, b0c0, a1c0, b1c0), half_pairs(d8, a0c1, b0c1, a1c1, b1c1),
                          half_pairs(d8, a0c2, b0c2, a1c2, b1c2), d8, out);
  } else {
    V a0c0, a0c1, a0c2, a0c3, b0c0, b0c1, b0c2, b0c3, a1c0, a1c1, a1c2, a1c3, b1c0, b1c1, b1c2, b1c3;
    hn::LoadInterleaved4(d8, r0, a0c0, a0c1, a0c2, a0c3);
    hn::LoadInterleaved4(d8, r0 + n, b0c0, b0c1, b0c2, b0c3);
    hn::LoadInterleaved4(d8, r1, a1c0, a1c1, a1c2, a1c3);
    hn::LoadInterleaved4(d8, r1 + n, b1c0, b1c1, b1c2, b1c3);
    hn::StoreInterleaved4(half_pairs(d8, a0c0, b0c0, a1c0, b1c0), half_pairs(d8, a0c1, b0c1, a1c1, b1c1),
                          half_pairs(d8, a0c2, b0c2, a1c2, b1c2), half_pairs(d8, a0c3, b0c3, a1c3, b1c3), d8,
                          out);
  }
}
#endif

// u8 halved exactly in both directions: both 11-bit weights are 1024 at every output pixel,
// so the fixed-point result ((a + b + c + d) * 2^20 + 2^21) >> 22 is (a + b + c + d + 2) >> 2:
// the same bits as the general path (and OpenCV's 2x shortcut). With 3 and 4 channels the
// shuffles of the (de)interleaving fill the core's window, so the loads of the two rows'
// next lines start late: they are prefetched 1 KiB ahead (4096x4096 RGB, 1 thread, AVX3:
// 4.3-5.2 -> 3.3-4.6 ms); gray has no shuffles, and the prefetches only slowed it.
constexpr std::int64_t kHalfPrefetch = 1024;
template <int C>
void half_row(const std::uint8_t* HWY_RESTRICT r0, const std::uint8_t* HWY_RESTRICT r1, std::uint8_t* HWY_RESTRICT out,
              std::int64_t dw) {
  std::int64_t x = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<std::uint8_t> d8;
  const std::int64_t step = std::int64_t(hn::Lanes(d8));
  for (; x + step <= dw; x += step) {
    if constexpr (C >= 3)  // the source lines 1 KiB ahead (see above)
      for (std::int64_t b = 0; b < 2 * step * C; b += 64) {
        hwy::Prefetch(r0 + 2 * x * C + kHalfPrefetch + b);
        hwy::Prefetch(r1 + 2 * x * C + kHalfPrefetch + b);
      }
    half_block<C>(d8, r0 + 2 * x * C, r1 + 2 * x * C, out + x * C);
  }
#endif
  for (; x < dw; ++x)
    for (int c = 0; c < C; ++c) {
      const int a = r0[2 * x * C + c], b = r0[(2 * x + 1) * C + c];
      const int d = r1[2 * x * C + c], e = r1[(2 * x + 1) * C + c];
      out[x * C + c] = static_cast<std::uint8_t>((a + b + d + e + 2) >> 2);
    }
}

// ---- the general path: horizontal gathers and vertical blends, lanes of int32 or float.
// Each kernel is written once over a descriptor: full vectors, then the tail one lane at a
// time (CappedTag<T, 1>), so the tail is the same arithmetic.

template <class D>
using Lane1 = hn::CappedTag<hn::TFromD<D>, 1>;

template <class D, class F>
HWY_INLINE void for_lanes(D d, std::int64_t n, F&& block) {
  const std::int64_t step = std::int64_t(hn::Lanes(d));
  std::int64_t i = 0;
  for (; i + step <= n; i += step) block(d, i);
  for (; i < n; ++i) block(Lane1<D>(), i);
}

// s0 * a0 + s1 * a1 rounded each step (kern::resize_lerp: no MulAdd, as the CUDA side).
template <class V>
HWY_INLINE V lerp(V s0, V s1, V a0, V a1) {
  return hn::Add(hn::Mul(s0, a0), hn::Mul(s1, a1));
}

// (acc + 2^21) >> 22, at most 255 (kern::resize_round_fixed), stored as u8.
template <class D>
HWY_INLINE void store_fixed_u8(D d32, hn::Vec<D> acc, std::uint8_t* out) {
  const hn::Rebind<std::uint8_t, D> d8;
  const auto y = hn::ShiftRight<2 * kern::kResizeCoefBits>(
      hn::Add(acc, hn::Set(d32, std::int32_t(1) << (2 * kern::kResizeCoefBits - 1))));
  hn::StoreU(hn::DemoteTo(d8, hn::Min(y, hn::Set(d32, 255))), d8, out);
}

void WidenU8(const std::uint8_t* HWY_RESTRICT s, int* HWY_RESTRICT out, std::int64_t n) {
  for_lanes(hn::ScalableTag<std::int32_t>(), n, [&](auto d, std::int64_t i) {
    hn::StoreU(hn::PromoteTo(d, hn::LoadU(hn::Rebind<std::uint8_t, decltype(d)>(), s + i)), d, out + i);
  });
}
void WidenU16(const std::uint16_t* HWY_RESTRICT s, float* HWY_RESTRICT out, std::int64_t n) {
  for_lanes(hn::ScalableTag<float>(), n, [&](auto d, std::int64_t i) {
    const hn::RebindToSigned<decltype(d)> di;
    hn::StoreU(hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(hn::Rebind<std::uint16_t, decltype(d)>(), s + i))), d,
               out + i);
  });
}

// base[idx[j]] for the lanes of d, loaded one by one: measured faster than the AVX2 and
// AVX-512 gather instructions on AMD Zen 4 (1.4 vs 2.0 ms for a 4096 -> 1515 gray
// downscale's horizontal pass) and no slower where those are fast.
template <class D, class T = hn::TFromD<D>>
HWY_INLINE hn::Vec<D> gather_soft(D d, const T* HWY_RESTRICT base, const std::int32_t* HWY_RESTRICT idx) {
  HWY_ALIGN T buf[hn::MaxLanes(d)];
  for (std::size_t j = 0; j < hn::Lanes(d); ++j) buf[j] = base[idx[j]];
  return hn::Load(d, buf);
}

// h[i] = s[i0[i]] * w0[i] + s[i1[i]] * w1[i]: int (u8, 11-bit weights) or float.
void HrowI32(const int* HWY_RESTRICT s, int* HWY_RESTRICT h, const int* HWY_RESTRICT i0, const int* HWY_RESTRICT i1,
             const int* HWY_RESTRICT w0, const int* HWY_RESTRICT w1, std::int64_t n) {
  for_lanes(hn::ScalableTag<std::int32_t>(), n, [&](auto d, std::int64_t i) {
    const auto a = gather_soft(d, s, i0 + i), b = gather_soft(d, s, i1 + i);
    hn::StoreU(hn::Add(hn::Mul(a, hn::LoadU(d, w0 + i)), hn::Mul(b, hn::LoadU(d, w1 + i))), d, h + i);
  });
}
void HrowF32(const float* HWY_RESTRICT s, float* HWY_RESTRICT h, const int* HWY_RESTRICT i0,
             const int* HWY_RESTRICT i1, const float* HWY_RESTRICT w0, const float* HWY_RESTRICT w1, std::int64_t n) {
  for_lanes(hn::ScalableTag<float>(), n, [&](auto d, std::int64_t i) {
    const auto a = gather_soft(d, s, i0 + i), b = gather_soft(d, s, i1 + i);
    hn::StoreU(lerp(a, b, hn::LoadU(d, w0 + i), hn::LoadU(d, w1 + i)), d, h + i);
  });
}

// out[i] from two horizontal results: u8 (fixed point), u16 (float, rounded half to even and
// saturated, as kern::resize_store) or f32.
void VrowU8(const int* HWY_RESTRICT h0, const int* HWY_RESTRICT h1, std::uint8_t* HWY_RESTRICT out, int b0, int b1,
            std::int64_t n) {
  for_lanes(hn::ScalableTag<std::int32_t>(), n, [&](auto d, std::int64_t i) {
    store_fixed_u8(d, hn::Add(hn::Mul(hn::LoadU(d, h0 + i), hn::Set(d, b0)), hn::Mul(hn::LoadU(d, h1 + i), hn::Set(d, b1))),
                   out + i);
  });
}
void VrowU16(const float* HWY_RESTRICT h0, const float* HWY_RESTRICT h1, std::uint16_t* HWY_RESTRICT out, float b0,
             float b1, std::int64_t n) {
  for_lanes(hn::ScalableTag<float>(), n, [&](auto d, std::int64_t i) {
    const auto v = lerp(hn::LoadU(d, h0 + i), hn::LoadU(d, h1 + i), hn::Set(d, b0), hn::Set(d, b1));
    const auto c = hn::Min(hn::Max(v, hn::Zero(d)), hn::Set(d, 65535.0f));
    const hn::Rebind<std::uint16_t, decltype(d)> d16;
    hn::StoreU(hn::DemoteTo(d16, hn::NearestInt(c)), d16, out + i);
  });
}
void VrowF32(const float* HWY_RESTRICT h0, const float* HWY_RESTRICT h1, float* HWY_RESTRICT out, float b0, float b1,
             std::int64_t n) {
  for_lanes(hn::ScalableTag<float>(), n, [&](auto d, std::int64_t i) {
    hn::StoreU(lerp(hn::LoadU(d, h0 + i), hn::LoadU(d, h1 + i), hn::Set(d, b0), hn::Set(d, b1)), d, out + i);
  });
}

// u8 when the height does not grow: the two source rows blended first (exact integers),
// then the gather along the blended row. The rows of the next output row (next0, next1;
// null: none) are prefetched a cache line per 64 elements: a downscale skips source rows,
// which the hardware prefetchers do not foresee (the loads of s0 and s1 were most of the
// blend's time at 0.37x).
void VBlendU8(const std::uint8_t* HWY_RESTRICT s0, const std::uint8_t* HWY_RESTRICT s1, int* HWY_RESTRICT v, int b0,
              int b1, std::int64_t n, const std::uint8_t* next0, const std::uint8_t* next1) {
  const auto blend = [&](auto d, std::int64_t i) {
    const hn::Rebind<std::uint8_t, decltype(d)> d8;
    const auto a = hn::PromoteTo(d, hn::LoadU(d8, s0 + i)), b = hn::PromoteTo(d, hn::LoadU(d8, s1 + i));
    hn::StoreU(hn::Add(hn::Mul(a, hn::Set(d, b0)), hn::Mul(b, hn::Set(d, b1))), d, v + i);
  };
  const hn::ScalableTag<std::int32_t> d;
  const std::int64_t step = std::int64_t(hn::Lanes(d));
  std::int64_t i = 0;
  if (next0 && next1) {
    for (; i + step <= n; i += step) {
      if ((i & 63) < step) {  // once per 64 elements (a line of each row), whatever the width
        prefetch_to_l2(next0 + (i & ~std::int64_t(63)));
        prefetch_to_l2(next1 + (i & ~std::int64_t(63)));
      }
      blend(d, i);
    }
  }
  for_lanes(d, n - i, [&](auto dd, std::int64_t k) { blend(dd, i + k); });
}

// u8, one channel: out[x] = kern::resize_round_fixed(v[i0[x]] * w0[x] + v[i0[x] + 1] * w1[x]),
// each pair of taps loaded as one 64-bit value (a one-channel tap's second source is the
// next element, or it has weight 0: kern::linear_tap), then split into the two taps' lanes.
// v needs one readable int past the last i0.
void HGatherPairsU8(const int* HWY_RESTRICT v, int origin, std::uint8_t* HWY_RESTRICT out,
                    const int* HWY_RESTRICT i0, const int* HWY_RESTRICT w0, const int* HWY_RESTRICT w1,
                    std::int64_t n) {
  std::int64_t x = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<std::int32_t> d;
  const std::int64_t step = std::int64_t(hn::Lanes(d));
  HWY_ALIGN std::int32_t pairs[2 * hn::MaxLanes(d)];
  for (; x + step <= n; x += step) {
    for (std::int64_t j = 0; j < step; ++j)  // lane by lane (see gather_soft)
      std::memcpy(pairs + 2 * j, v + (i0[x + j] - origin), 8);
    const auto lo = hn::Load(d, pairs), hi = hn::Load(d, pairs + step);
    const auto a = hn::ConcatEven(d, hi, lo), b = hn::ConcatOdd(d, hi, lo);
    store_fixed_u8(d, hn::Add(hn::Mul(a, hn::LoadU(d, w0 + x)), hn::Mul(b, hn::LoadU(d, w1 + x))), out + x);
  }
#endif
  for (; x < n; ++x) out[x] = kern::resize_round_fixed(v[i0[x] - origin] * w0[x] + v[i0[x] - origin + 1] * w1[x]);
}

#if HWY_TARGET != HWY_SCALAR
// Lanes(d) / 4 runs of 4 ints, from p + off[0] - origin, p + off[1] - origin, ..., side by
// side in one vector of 8 or 16 lanes, put together in registers: written to memory a run at
// a time and read back as one vector, they would wait for the stores (a failed store
// forwarding; measured 3x slower on Zen 4).
template <class D>
HWY_INLINE hn::Vec<D> LoadQuads(D d, const std::int32_t* HWY_RESTRICT p, const int* HWY_RESTRICT off, int origin) {
  const hn::Half<D> dh;
  if constexpr (hn::MaxLanes(d) == 8) {
    return hn::Combine(d, hn::LoadU(dh, p + (off[1] - origin)), hn::LoadU(dh, p + (off[0] - origin)));
  } else {
    const hn::Half<decltype(dh)> dq;
    return hn::Combine(d, hn::Combine(dh, hn::LoadU(dq, p + (off[3] - origin)), hn::LoadU(dq, p + (off[2] - origin))),
                       hn::Combine(dh, hn::LoadU(dq, p + (off[1] - origin)), hn::LoadU(dq, p + (off[0] - origin))));
  }
}
#endif

// u8 with 3 or 4 channels, rows first: the horizontal pass along the blended row v by whole
// pixels, one pixel's 4 ints at a time (the 4th of a 3-channel pixel is the next pixel's
// first, dropped): (v[x0 + c] * w0 + v[x1 + c] * w1 + 2^21) >> 22 (kern::resize_round_fixed).
// Every pixel but the last is stored as 4 bytes (the next pixel's store overwrites the 4th);
// the last one as C bytes, so nothing past the row is written. v needs 4 readable ints past
// each x0, x1.
template <int C>
void hgather_px(const int* HWY_RESTRICT v, int origin, std::uint8_t* HWY_RESTRICT out, const int* HWY_RESTRICT x0,
                const int* HWY_RESTRICT x1, const int* HWY_RESTRICT w0x4, const int* HWY_RESTRICT w1x4,
                std::int64_t n) {
  std::int64_t d = 0;
#if HWY_TARGET != HWY_SCALAR
  // Targets of 8 or 16 int32 lanes: Lanes / 4 pixels at a time (LoadQuads), the bytes of a
  // 3-channel pixel's 3 lanes moved together by a byte shuffle; the store's last bytes (one
  // per pixel, for 3 channels) are rewritten by the next pixels', of which as many follow.
  const hn::ScalableTag<std::int32_t> dv;
  constexpr std::size_t kLanes = hn::MaxLanes(dv);
  if constexpr (kLanes == 8 || kLanes == 16) {
    constexpr std::int64_t px = kLanes / 4;
    const hn::Rebind<std::uint8_t, decltype(dv)> dv8;
    HWY_ALIGN std::uint8_t keep[kLanes];
    for (std::size_t j = 0; j < kLanes; ++j) keep[j] = std::uint8_t(C == 3 && j < 3 * px ? (j / 3) * 4 + j % 3 : j);
    const auto keep_idx = hn::Load(dv8, keep);
    for (; d + 2 * px <= n; d += px) {
      const auto acc = hn::Add(hn::Mul(LoadQuads(dv, v, x0 + d, origin), hn::LoadU(dv, w0x4 + 4 * d)),
                               hn::Mul(LoadQuads(dv, v, x1 + d, origin), hn::LoadU(dv, w1x4 + 4 * d)));
      const auto y = hn::ShiftRight<2 * kern::kResizeCoefBits>(
          hn::Add(acc, hn::Set(dv, std::int32_t(1) << (2 * kern::kResizeCoefBits - 1))));
      auto bytes = hn::DemoteTo(dv8, hn::Min(y, hn::Set(dv, 255)));
      if constexpr (C == 3) bytes = hn::TableLookupBytes(bytes, keep_idx);
      hn::StoreU(bytes, dv8, out + d * C);
    }
  }
  const hn::FixedTag<std::int32_t, 4> d4;
  const hn::Rebind<std::uint8_t, decltype(d4)> d8;
  for (; d + 1 < n; ++d) {
    const auto acc = hn::Add(hn::Mul(hn::LoadU(d4, v + (x0[d] - origin)), hn::LoadU(d4, w0x4 + 4 * d)),
                             hn::Mul(hn::LoadU(d4, v + (x1[d] - origin)), hn::LoadU(d4, w1x4 + 4 * d)));
    const auto y = hn::ShiftRight<2 * kern::kResizeCoefBits>(
        hn::Add(acc, hn::Set(d4, std::int32_t(1) << (2 * kern::kResizeCoefBits - 1))));
    hn::StoreU(hn::DemoteTo(d8, hn::Min(y, hn::Set(d4, 255))), d8, out + d * C);
  }
#endif
  for (; d < n; ++d)
    for (int c = 0; c < C; ++c)
      out[d * C + c] =
          kern::resize_round_fixed(v[x0[d] - origin + c] * w0x4[4 * d] + v[x1[d] - origin + c] * w1x4[4 * d]);
}

void HGatherPxC3(const int* v, int origin, std::uint8_t* out, const int* x0, const int* x1, const int* w0x4,
                 const int* w1x4, std::int64_t n) {
  hgather_px<3>(v, origin, out, x0, x1, w0x4, w1x4, n);
}
void HGatherPxC4(const int* v, int origin, std::uint8_t* out, const int* x0, const int* x1, const int* w0x4,
                 const int* w1x4, std::int64_t n) {
  hgather_px<4>(v, origin, out, x0, x1, w0x4, w1x4, n);
}

// u8 with 3 or 4 channels, horizontal pass by whole pixels: the two source pixels' 4 bytes
// (from byte offsets x0[d], x1[d]) widened to int32 lanes, times the pixel's two 11-bit
// weights (w0x4, w1x4: each pixel's weight 4 times): s0 * w0 + s1 * w1 per channel
// (= kern::resize_h_fixed). Targets with 8 or more int32 lanes do Lanes / 4 pixels at a time:
// each source pixel's 4 bytes copied side by side, the bytes widened in order, and for 3 channels a lane
// permutation that drops each pixel's 4th value. The rest one pixel at a time in 4 lanes.
// Writes up to 4 ints past the last pixel (h needs the slack). Only for pixels whose 4-byte
// loads stay inside the row.
template <int C>
void hrow_px(const std::uint8_t* HWY_RESTRICT s, int* HWY_RESTRICT h, const int* HWY_RESTRICT x0,
             const int* HWY_RESTRICT x1, const int* HWY_RESTRICT w0x4, const int* HWY_RESTRICT w1x4, std::int64_t n) {
  std::int64_t d = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<std::int32_t> d32;
  const hn::Half<hn::Half<decltype(d32)>> dq;  // one int32 (4 bytes) per pixel
  const hn::Repartition<std::uint8_t, decltype(dq)> dq8;
  const std::int64_t px = std::int64_t(hn::Lanes(dq));
  if (hn::Lanes(d32) >= 8) {
    HWY_ALIGN std::int32_t pack[hn::MaxLanes(d32)];  // lane j <- pixel j / 3, channel j % 3
    for (std::size_t j = 0; j < hn::Lanes(d32); ++j)
      pack[j] = j < std::size_t(3 * px) ? std::int32_t((j / 3) * 4 + j % 3) : 0;
    const auto pack_idx = hn::SetTableIndices(d32, pack);
    HWY_ALIGN std::uint8_t pa[hn::MaxLanes(d32)];
    HWY_ALIGN std::uint8_t pb[hn::MaxLanes(d32)];
    for (; d + px <= n; d += px) {
      for (std::int64_t k = 0; k < px; ++k) {  // lane by lane (see gather_soft)
        std::memcpy(pa + 4 * k, s + x0[d + k], 4);
        std::memcpy(pb + 4 * k, s + x1[d + k], 4);
      }
      const auto a = hn::PromoteTo(d32, hn::Load(dq8, pa));
      const auto b = hn::PromoteTo(d32, hn::Load(dq8, pb));
      auto acc = hn::Add(hn::Mul(a, hn::LoadU(d32, w0x4 + 4 * d)), hn::Mul(b, hn::LoadU(d32, w1x4 + 4 * d)));
      if constexpr (C == 3) acc = hn::TableLookupLanes(acc, pack_idx);
      hn::StoreU(acc, d32, h + d * C);
    }
  }
  const hn::FixedTag<std::int32_t, 4> d4;
  const hn::Rebind<std::uint8_t, decltype(d4)> d8;
  for (; d < n; ++d) {
    const auto a = hn::PromoteTo(d4, hn::LoadU(d8, s + x0[d]));
    const auto b = hn::PromoteTo(d4, hn::LoadU(d8, s + x1[d]));
    hn::StoreU(hn::Add(hn::Mul(a, hn::LoadU(d4, w0x4 + 4 * d)), hn::Mul(b, hn::LoadU(d4, w1x4 + 4 * d))), d4,
               h + d * C);
  }
#else
  for (; d < n; ++d)
    for (int c = 0; c < C; ++c)
      h[d * C + c] = kern::resize_h_fixed(s[x0[d] + c], s[x1[d] + c], w0x4[4 * d], w1x4[4 * d]);
#endif
}

void HrowPxC3(const std::uint8_t* s, int* h, const int* x0, const int* x1, const int* w0x4, const int* w1x4,
              std::int64_t n) {
  hrow_px<3>(s, h, x0, x1, w0x4, w1x4, n);
}
void HrowPxC4(const std::uint8_t* s, int* h, const int* x0, const int* x1, const int* w0x4, const int* w1x4,
              std::int64_t n) {
  hrow_px<4>(s, h, x0, x1, w0x4, w1x4, n);
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
HWY_EXPORT(WidenU8);
HWY_EXPORT(WidenU16);
HWY_EXPORT(HrowI32);
HWY_EXPORT(HrowF32);
HWY_EXPORT(VrowU8);
HWY_EXPORT(VrowU16);
HWY_EXPORT(VrowF32);
HWY_EXPORT(VBlendU8);
HWY_EXPORT(HGatherPairsU8);

void resize_widen(const std::uint8_t* s, int* out, std::int64_t n) { HWY_DYNAMIC_DISPATCH(WidenU8)(s, out, n); }
void resize_widen(const std::uint16_t* s, float* out, std::int64_t n) { HWY_DYNAMIC_DISPATCH(WidenU16)(s, out, n); }
void resize_hrow(const int* s, int* h, const int* i0, const int* i1, const int* w0, const int* w1, std::int64_t n) {
  HWY_DYNAMIC_DISPATCH(HrowI32)(s, h, i0, i1, w0, w1, n);
}
void resize_hrow(const float* s, float* h, const int* i0, const int* i1, const float* w0, const float* w1,
                 std::int64_t n) {
  HWY_DYNAMIC_DISPATCH(HrowF32)(s, h, i0, i1, w0, w1, n);
}
void resize_vrow(const int* h0, const int* h1, std::uint8_t* out, int b0, int b1, std::int64_t n) {
  HWY_DYNAMIC_DISPATCH(VrowU8)(h0, h1, out, b0, b1, n);
}
void resize_vrow(const float* h0, const float* h1, std::uint16_t* out, float b0, float b1, std::int64_t n) {
  HWY_DYNAMIC_DISPATCH(VrowU16)(h0, h1, out, b0, b1, n);
}
void resize_vrow(const float* h0, const float* h1, float* out, float b0, float b1, std::int64_t n) {
  HWY_DYNAMIC_DISPATCH(VrowF32)(h0, h1, out, b0, b1, n);
}
void resize_u8_vblend(const std::uint8_t* s0, const std::uint8_t* s1, int* v, int b0, int b1, std::int64_t n,
                      const std::uint8_t* next0, const std::uint8_t* next1) {
  HWY_DYNAMIC_DISPATCH(VBlendU8)(s0, s1, v, b0, b1, n, next0, next1);
}
void resize_u8_hgather_pairs(const int* v, int origin, std::uint8_t* out, const int* i0, const int* w0,
                             const int* w1, std::int64_t n) {
  HWY_DYNAMIC_DISPATCH(HGatherPairsU8)(v, origin, out, i0, w0, w1, n);
}
HWY_EXPORT(HGatherPxC3);
HWY_EXPORT(HGatherPxC4);

void resize_u8_hgather_px(const int* v, int origin, std::uint8_t* out, const int* x0, const int* x1,
                          const int* w0x4, const int* w1x4, std::int64_t n, int channels) {
  if (channels == 3) HWY_DYNAMIC_DISPATCH(HGatherPxC3)(v, origin, out, x0, x1, w0x4, w1x4, n);
  else HWY_DYNAMIC_DISPATCH(HGatherPxC4)(v, origin, out, x0, x1, w0x4, w1x4, n);
}
HWY_EXPORT(HrowPxC3);
HWY_EXPORT(HrowPxC4);

void resize_u8_hrow_px(const std::uint8_t* s, int* h, const int* x0, const int* x1, const int* w0x4,
                       const int* w1x4, std::int64_t n, int channels) {
  if (channels == 3) HWY_DYNAMIC_DISPATCH(HrowPxC3)(s, h, x0, x1, w0x4, w1x4, n);
  else HWY_DYNAMIC_DISPATCH(HrowPxC4)(s, h, x0, x1, w0x4, w1x4, n);
}

void resize_u8_half_row(const std::uint8_t* r0, const std::uint8_t* r1, std::uint8_t* out, std::int64_t dw,
                        int channels) {
  if (channels == 1) HWY_DYNAMIC_DISPATCH(HalfRowC1)(r0, r1, out, dw);
  else if (channels == 3) HWY_DYNAMIC_DISPATCH(HalfRowC3)(r0, r1, out, dw);
  else HWY_DYNAMIC_DISPATCH(HalfRowC4)(r0, r1, out, dw);
}
}  // namespace tandem::simd
#endif
