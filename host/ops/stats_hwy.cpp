// stats' vector loops in Highway: compiled once per SIMD target (foreach_target.h), the best
// target the CPU has is picked at run time (HWY_DYNAMIC_DISPATCH).
//
// The f32 sums keep 32 f32 lanes whatever the vector width: lane l adds the elements l, l + 32,
// ..., and the lanes fold to one in a fixed order (fold8, sum8), so the result and its error
// bound (stats.cpp) are the same on every target. With L lanes a vector, the 32 lanes are
// 32 / L named vectors (2 on AVX-512, 4 on AVX2, 8 on SSE4 and NEON; on SVE, vectors of a
// fixed 4 lanes); the scalar target runs the same lanes in arrays. The f64 sums of the other
// dtypes keep 16 f64 lanes the same way.
#include "host/ops/stats_hwy.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/stats_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#ifndef TANDEM_STATS_HWY_ONCE_
#define TANDEM_STATS_HWY_ONCE_
namespace tandem::stats_detail {

/// Prefetches into L2 the `Bytes` (a multiple of 64, or less) at p + kPrefetchBytes: with
/// the hardware prefetchers alone, a loop doing this much work per cache line kept fewer
/// lines in flight and reached ~70% of a plain sum's bandwidth.
template <std::size_t Bytes>
HWY_INLINE void prefetch_ahead(const void* p) {
  const char* c = static_cast<const char*>(p) + kPrefetchBytes;
  for (std::size_t b = 0; b < Bytes; b += 64) __builtin_prefetch(c + b, 0, 2);
}

/// t[0] + ... + t[7] in f64, in a fixed order.
inline double sum8(const float* t) {
  return ((double(t[0]) + double(t[4])) + (double(t[2]) + double(t[6]))) +
         ((double(t[1]) + double(t[5])) + (double(t[3]) + double(t[7])));
}

/// The 32 lanes a[0, 32) folded to 8 in f32: t[j] = (a[j] + a[j+16]) + (a[j+8] + a[j+24]).
inline void fold8(const float* a, float* t) {
  for (int j = 0; j < 8; ++j) t[j] = (a[j] + a[j + 16]) + (a[j + 8] + a[j + 24]);
}

/// The scalar target's f32 sums around k in 32 lanes (arrays), with min/max.
inline Shifted<float> shifted_sums_lanes(const float* p, std::int64_t m, float k) {
  float a1[32] = {}, a2[32] = {};
  float lo = p[0], hi = p[0];
  for (std::int64_t i = 0; i < m; ++i) {
    const float x = p[i], d = x - k;
    a1[i % 32] += d;
    a2[i % 32] += d * d;
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
  }
  float t1[8], t2[8];
  fold8(a1, t1);
  fold8(a2, t2);
  return {sum8(t1), sum8(t2), lo, hi};
}

/// The 16 f64 lanes a[0, 16) folded pairwise: a[j] += a[j + w] for w = 8, 4, 2, 1.
inline double fold16(double* a) {
  for (int w = 8; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) a[j] += a[j + w];
  return a[0];
}

}  // namespace tandem::stats_detail
#endif  // TANDEM_STATS_HWY_ONCE_

HWY_BEFORE_NAMESPACE();
namespace tandem::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using namespace stats_detail;

// Vectors of at most 16 f32 / 8 f64 lanes (so 32 f32 or 16 f64 lanes are 2 to 8 of them);
// on scalable targets a fixed 128 bits, so that their count is known when compiling.
#if HWY_HAVE_SCALABLE
using DF = hn::FixedTag<float, 4>;
using DD = hn::FixedTag<double, 2>;
#else
using DF = hn::CappedTag<float, 16>;
using DD = hn::CappedTag<double, 8>;
#endif
constexpr int kFL = int(hn::MaxLanes(DF()));  // f32 lanes a vector
constexpr int kFN = 32 / kFL;                  // vectors of 32 f32 lanes
constexpr int kDL = int(hn::MaxLanes(DD()));
constexpr int kDN = 16 / kDL;                  // vectors of 16 f64 lanes
// The scalar target (one lane) keeps its lanes in arrays.
#undef TANDEM_STATS_LANE_ARRAYS
#if HWY_TARGET == HWY_SCALAR
#define TANDEM_STATS_LANE_ARRAYS 1
#else
#define TANDEM_STATS_LANE_ARRAYS 0
static_assert(kFN >= 2 && kFN <= 8 && kDN >= 2 && kDN <= 8);
#endif

#if !TANDEM_STATS_LANE_ARRAYS
/// f(v_j, w_j, j) for the vectors j < N of two sets of up to 8 named vectors (no arrays of
/// vectors: SVE's are sizeless).
template <int N, class V, class F>
HWY_INLINE void each_vec(F&& f, V& a0, V& a1, V& a2, V& a3, V& a4, V& a5, V& a6, V& a7, V& b0, V& b1, V& b2,
                         V& b3, V& b4, V& b5, V& b6, V& b7) {
  static_assert(N >= 1 && N <= 8);
  f(a0, b0, 0);
  if constexpr (N > 1) f(a1, b1, 1);
  if constexpr (N > 2) {
    f(a2, b2, 2);
    f(a3, b3, 3);
  }
  if constexpr (N > 4) {
    f(a4, b4, 4);
    f(a5, b5, 5);
    f(a6, b6, 6);
    f(a7, b7, 7);
  }
}

/// The 32 f32 lanes in a0 .. a{kFN-1} (lane l in vector l / kFL) folded to 8, as fold8.
template <class V>
HWY_INLINE void fold8_vec(V a0, V a1, V a2, V a3, V a4, V a5, V a6, V a7, float* t) {
  const DF d;
  if constexpr (kFN == 2) {
    const hn::Half<DF> dh;
    const V c = hn::Add(a0, a1);  // lanes l + (l + 16)
    hn::StoreU(hn::Add(hn::LowerHalf(dh, c), hn::UpperHalf(dh, c)), dh, t);
  } else if constexpr (kFN == 4) {
    hn::StoreU(hn::Add(hn::Add(a0, a2), hn::Add(a1, a3)), d, t);
  } else {  // kFN == 8
    hn::StoreU(hn::Add(hn::Add(a0, a4), hn::Add(a2, a6)), d, t);
    hn::StoreU(hn::Add(hn::Add(a1, a5), hn::Add(a3, a7)), d, t + 4);
  }
}

#endif

/// The lowest and highest lane of lo and hi.
template <class D, class V>
HWY_INLINE void min_max_lanes(D d, V lo, V hi, hn::TFromD<D>& l, hn::TFromD<D>& h) {
  // Room for any vector's lanes: Highway 1.0.3's MaxLanes of a fractional tag on SVE (a
  // Rebind to a narrower type: Simd<int, 2, -1>) is below its Lanes(), even 0.
  constexpr std::size_t kRoom = HWY_MAX_BYTES / sizeof(hn::TFromD<D>);
  HWY_ALIGN hn::TFromD<D> a[kRoom], b[kRoom];
  hn::Store(lo, d, a);
  hn::Store(hi, d, b);
  l = a[0];
  h = b[0];
  for (std::size_t j = 1; j < hn::Lanes(d); ++j) {
    l = a[j] < l ? a[j] : l;
    h = b[j] > h ? b[j] : h;
  }
}

/// A shift near a block's mean that depends on no other block: the mean of 32 values in the
/// middle of each quarter (a ramp's mean exactly; i.i.d. data within sigma / 11 of it).
HWY_INLINE float block_shift(const float* p) {
  constexpr std::int64_t q = kF32Block / 4, c = q / 2 - 16;
  float t[8];
#if TANDEM_STATS_LANE_ARRAYS
  float s[32];
  for (int l = 0; l < 32; ++l) s[l] = (p[c + l] + p[q + c + l]) + (p[2 * q + c + l] + p[3 * q + c + l]);
  fold8(s, t);
#else
  {
    const DF d;
    using V = hn::Vec<DF>;
    V s0 = hn::Zero(d), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0, u = s0;
    each_vec<kFN>(
        [&](V& s, V&, int j) {
          const float* x = p + c + j * kFL;
          s = hn::Add(hn::Add(hn::LoadU(d, x), hn::LoadU(d, x + q)), hn::Add(hn::LoadU(d, x + 2 * q), hn::LoadU(d, x + 3 * q)));
        },
        s0, s1, s2, s3, s4, s5, s6, s7, u, u, u, u, u, u, u, u);
    fold8_vec(s0, s1, s2, s3, s4, s5, s6, s7, t);
  }
#endif
  const float k = static_cast<float>(sum8(t) * (1.0 / 128));
  return std::isfinite(k) ? k : p[0];
}

#if !TANDEM_STATS_LANE_ARRAYS
/// One vector of lanes: a += x - k, b += (x - k)^2 (Mul then Add, never fused), and the
/// values v (x in the input type) into the min/max pair j % 2, so that the compare chains
/// overlap.
template <class V, class VT>
HWY_INLINE void lane_step(V x, V kv, V& a, V& b, VT v, int j, VT& lo0, VT& lo1, VT& hi0, VT& hi1) {
  const V dx = hn::Sub(x, kv);
  a = hn::Add(a, dx);
  b = hn::Add(b, hn::Mul(dx, dx));
  VT& lo = j % 2 ? lo1 : lo0;
  VT& hi = j % 2 ? hi1 : hi0;
  lo = hn::Min(v, lo);
  hi = hn::Max(v, hi);
}

/// The 32-lane sums around k of the whole 32-value steps of [p, p + m) into a*, b*, their
/// min/max into lo*/hi*; returns the
/// number of values done.
template <class V>
HWY_INLINE std::int64_t lane_steps(const float* HWY_RESTRICT p, std::int64_t m, V kv, V& a0, V& a1, V& a2, V& a3,
                                   V& a4, V& a5, V& a6, V& a7, V& b0, V& b1, V& b2, V& b3, V& b4, V& b5, V& b6,
                                   V& b7, V& lo0, V& lo1, V& hi0, V& hi1) {
  const DF d;
  std::int64_t i = 0;
  for (; i + 32 <= m; i += 32) {
    prefetch_ahead<32 * sizeof(float)>(p + i);
    each_vec<kFN>(
        [&](V& a, V& b, int j) {
          const V x = hn::LoadU(d, p + i + j * kFL);
          lane_step(x, kv, a, b, x, j, lo0, lo1, hi0, hi1);
        },
        a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7);
  }
  return i;
}
#endif

void F32TaskSums(const float* HWY_RESTRICT p, int blocks, LaneTask& out) {
  out.lo = out.hi = p[0];
#if TANDEM_STATS_LANE_ARRAYS
  {
    for (int blk = 0; blk < blocks; ++blk) {
      const float* q = p + std::int64_t(blk) * kF32Block;
      const float k = block_shift(q);
      const Shifted<float> s = shifted_sums_lanes(q, kF32Block, k);
      out.k[blk] = k;
      out.s1[blk] = s.s1;
      out.s2[blk] = s.s2;
      out.lo = s.lo < out.lo ? s.lo : out.lo;
      out.hi = s.hi > out.hi ? s.hi : out.hi;
    }
  }
#else
  {
    const DF d;
    using V = hn::Vec<DF>;
    V lo0 = hn::Set(d, p[0]), lo1 = lo0, hi0 = lo0, hi1 = lo0;
    // The next block's shift is read a block ahead, off the critical path.
    float next = blocks > 0 ? block_shift(p) : 0.0f;
    for (int blk = 0; blk < blocks; ++blk) {
      const float* HWY_RESTRICT q = p + std::int64_t(blk) * kF32Block;
      const float k = next;
      if (blk + 1 < blocks) next = block_shift(q + kF32Block);
      V a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      V b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
      lane_steps(q, kF32Block, hn::Set(d, k), a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7, lo0,
                 lo1, hi0, hi1);
      float t[8];
      out.k[blk] = k;
      fold8_vec(a0, a1, a2, a3, a4, a5, a6, a7, t);
      out.s1[blk] = sum8(t);
      fold8_vec(b0, b1, b2, b3, b4, b5, b6, b7, t);
      out.s2[blk] = sum8(t);
    }
    min_max_lanes(d, hn::Min(lo0, lo1), hn::Max(hi0, hi1), out.lo, out.hi);
  }
#endif
}

Shifted<float> F32ShiftedSums(const float* HWY_RESTRICT p, std::int64_t m, float k) {
#if TANDEM_STATS_LANE_ARRAYS
  return shifted_sums_lanes(p, m, k);
#else
  {
    const DF d;
    using V = hn::Vec<DF>;
    const V kv = hn::Set(d, k);
    V a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    V b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
    V lo0 = hn::Set(d, p[0]), lo1 = lo0, hi0 = lo0, hi1 = lo0;
    const std::int64_t i = lane_steps(p, m, kv, a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7,
                                      lo0, lo1, hi0, hi1);
    Shifted<float> r;
    min_max_lanes(d, hn::Min(lo0, lo1), hn::Max(hi0, hi1), r.lo, r.hi);
    if (i < m) {
      // The last values go to lanes 0, 1, ... as one more step padded with k, which adds
      // (k - k) = +0 to the other lanes' sums; their min/max one by one.
      HWY_ALIGN float tail[32];
      std::fill(tail, tail + 32, k);
      std::copy(p + i, p + m, tail);
      for (std::int64_t j = i; j < m; ++j) {
        r.lo = p[j] < r.lo ? p[j] : r.lo;
        r.hi = p[j] > r.hi ? p[j] : r.hi;
      }
      V u0 = kv, u1 = kv, u2 = kv, u3 = kv;
      lane_steps(tail, 32, kv, a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7, u0, u1, u2, u3);
    }
    float t[8];
    fold8_vec(a0, a1, a2, a3, a4, a5, a6, a7, t);
    r.s1 = sum8(t);
    fold8_vec(b0, b1, b2, b3, b4, b5, b6, b7, t);
    r.s2 = sum8(t);
    return r;
  }
#endif
}

/// sum(x) in 4 vectors of f64 lanes (32 on AVX-512), then the values after the last whole
/// step one by one, then the lanes in order.
double F64Sum(const float* HWY_RESTRICT p, std::int64_t m) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;
  const std::int64_t L = std::int64_t(hn::Lanes(dd));
  auto a0 = hn::Zero(dd), a1 = a0, a2 = a0, a3 = a0;
  std::int64_t i = 0;
  for (; i + 4 * L <= m; i += 4 * L) {
    prefetch_ahead<4 * hn::MaxLanes(decltype(dd)()) * sizeof(float)>(p + i);
    a0 = hn::Add(a0, hn::PromoteTo(dd, hn::LoadU(df, p + i)));
    a1 = hn::Add(a1, hn::PromoteTo(dd, hn::LoadU(df, p + i + L)));
    a2 = hn::Add(a2, hn::PromoteTo(dd, hn::LoadU(df, p + i + 2 * L)));
    a3 = hn::Add(a3, hn::PromoteTo(dd, hn::LoadU(df, p + i + 3 * L)));
  }
  HWY_ALIGN double l[hn::MaxLanes(dd)];
  hn::Store(hn::Add(hn::Add(a0, a2), hn::Add(a1, a3)), dd, l);
  double sum = 0;
  for (; i < m; ++i) sum += p[i];
  for (std::int64_t j = 0; j < L; ++j) sum += l[j];
  return sum;
}

/// The 16 f64 lanes of sum(x - k), sum((x - k)^2), k = double(p[0]), and min/max in T.
template <class T>
Shifted<T> ShiftedSums(const T* HWY_RESTRICT p, std::int64_t m) {
  const double k = static_cast<double>(p[0]);
  HWY_ALIGN double s1[16] = {}, s2[16] = {};
  T lo = p[0], hi = p[0];
  std::int64_t i = 0;
#if !TANDEM_STATS_LANE_ARRAYS
  {
    const DD d;
    const hn::Rebind<T, DD> dt;
    using V = hn::Vec<DD>;
    using VT = hn::Vec<decltype(dt)>;
    const V kv = hn::Set(d, k);
    V a0 = hn::Zero(d), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    V b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
    VT lo0 = hn::Set(dt, p[0]), lo1 = lo0, hi0 = lo0, hi1 = lo0;
    auto to_f64 = [&](VT v) {
      if constexpr (std::is_same_v<T, double>) return v;
      else if constexpr (std::is_same_v<T, std::int64_t>) return hn::ConvertTo(d, v);
      else if constexpr (std::is_same_v<T, std::int32_t>) return hn::PromoteTo(d, v);
      else return hn::PromoteTo(d, hn::PromoteTo(hn::Rebind<std::int32_t, DD>(), v));
    };
    // A step of 16 values from x: lane sums and min/max.
    auto step = [&](const T* x) {
      each_vec<kDN>(
          [&](V& a, V& b, int j) {
            const VT v = hn::LoadU(dt, x + j * kDL);
            lane_step(to_f64(v), kv, a, b, v, j, lo0, lo1, hi0, hi1);
          },
          a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7);
    };
    for (; i + 16 <= m; i += 16) {
      prefetch_ahead<16 * sizeof(T)>(p + i);
      step(p + i);
    }
    if (i < m) {
      // The last values go to lanes 0, 1, ... padded with p[0]: x - k = 0 in the other lanes.
      HWY_ALIGN T tail[16];
      std::fill(tail, tail + 16, p[0]);
      std::copy(p + i, p + m, tail);
      step(tail);
      i = m;
    }
    each_vec<kDN>(
        [&](V& a, V& b, int j) {
          hn::Store(a, d, s1 + j * kDL);
          hn::Store(b, d, s2 + j * kDL);
        },
        a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7);
    min_max_lanes(dt, hn::Min(lo0, lo1), hn::Max(hi0, hi1), lo, hi);
  }
#endif
  for (; i < m; ++i) {
    const T v = p[i];
    const double dx = static_cast<double>(v) - k;
    s1[i % 16] += dx;
    s2[i % 16] += dx * dx;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  return {fold16(s1), fold16(s2), lo, hi};
}

Shifted<std::uint16_t> ShiftedSumsU16(const std::uint16_t* p, std::int64_t m) { return ShiftedSums(p, m); }
Shifted<std::int32_t> ShiftedSumsI32(const std::int32_t* p, std::int64_t m) { return ShiftedSums(p, m); }
Shifted<std::int64_t> ShiftedSumsI64(const std::int64_t* p, std::int64_t m) { return ShiftedSums(p, m); }
Shifted<double> ShiftedSumsF64(const double* p, std::int64_t m) { return ShiftedSums(p, m); }

/// Exact integer sums: sum(x) through SumsOf8 in u64 lanes, sum(x^2) of x widened to i16 by
/// pairwise multiply-add into i32 lanes (each lane stays below 2^31 for m <= kTask; the
/// total, below 2^32, is their sum modulo 2^32), min/max in u8.
U8Sums U8SumsV(const std::uint8_t* HWY_RESTRICT p, std::int64_t m) {
  std::uint64_t s1 = 0;
  std::uint32_t s2 = 0;
  std::uint8_t lo = 255, hi = 0;
  std::int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<std::uint8_t> d8;
  const hn::Repartition<std::uint64_t, decltype(d8)> d64;
  const hn::Repartition<std::int16_t, decltype(d8)> d16;
  const hn::Repartition<std::int32_t, decltype(d8)> d32;
  const hn::Repartition<std::uint32_t, decltype(d8)> du32;
  const hn::Rebind<std::uint8_t, decltype(d16)> d8h;  // half a vector of bytes
  const std::int64_t L = std::int64_t(hn::Lanes(d8)), H = L / 2;
  auto sum = hn::Zero(d64);
  auto sq0 = hn::Zero(d32), sq1 = sq0;
  auto vlo = hn::Set(d8, std::uint8_t(255)), vhi = hn::Zero(d8);
  for (; i + L <= m; i += L) {
    const auto v = hn::LoadU(d8, p + i);
    sum = hn::Add(sum, hn::SumsOf8(v));
    vlo = hn::Min(vlo, v);
    vhi = hn::Max(vhi, v);
    const auto x0 = hn::PromoteTo(d16, hn::LoadU(d8h, p + i));
    const auto x1 = hn::PromoteTo(d16, hn::LoadU(d8h, p + i + H));
    sq0 = hn::ReorderWidenMulAccumulate(d32, x0, x0, sq0, sq1);
    sq0 = hn::ReorderWidenMulAccumulate(d32, x1, x1, sq0, sq1);
  }
  s1 = hn::GetLane(hn::SumOfLanes(d64, sum));
  s2 = hn::GetLane(hn::SumOfLanes(du32, hn::Add(hn::BitCast(du32, sq0), hn::BitCast(du32, sq1))));
  min_max_lanes(d8, vlo, vhi, lo, hi);
#endif
  for (; i < m; ++i) {
    const std::uint32_t v = p[i];
    s1 += v;
    s2 += v * v;
    lo = p[i] < lo ? p[i] : lo;
    hi = p[i] > hi ? p[i] : hi;
  }
  return {static_cast<std::uint32_t>(s1), s2, lo, hi};
}

}  // namespace tandem::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::simd {
using stats_detail::Shifted;
HWY_EXPORT(F32TaskSums);
HWY_EXPORT(F32ShiftedSums);
HWY_EXPORT(F64Sum);
HWY_EXPORT(ShiftedSumsU16);
HWY_EXPORT(ShiftedSumsI32);
HWY_EXPORT(ShiftedSumsI64);
HWY_EXPORT(ShiftedSumsF64);
HWY_EXPORT(U8SumsV);

void stats_f32_task_sums(const float* p, int blocks, stats_detail::LaneTask& out) {
  HWY_DYNAMIC_DISPATCH(F32TaskSums)(p, blocks, out);
}
Shifted<float> stats_f32_shifted_sums(const float* p, std::int64_t m, float k) {
  return HWY_DYNAMIC_DISPATCH(F32ShiftedSums)(p, m, k);
}
double stats_f64_sum(const float* p, std::int64_t m) { return HWY_DYNAMIC_DISPATCH(F64Sum)(p, m); }
Shifted<std::uint16_t> stats_shifted_sums(const std::uint16_t* p, std::int64_t m) {
  return HWY_DYNAMIC_DISPATCH(ShiftedSumsU16)(p, m);
}
Shifted<std::int32_t> stats_shifted_sums(const std::int32_t* p, std::int64_t m) {
  return HWY_DYNAMIC_DISPATCH(ShiftedSumsI32)(p, m);
}
Shifted<std::int64_t> stats_shifted_sums(const std::int64_t* p, std::int64_t m) {
  return HWY_DYNAMIC_DISPATCH(ShiftedSumsI64)(p, m);
}
Shifted<double> stats_shifted_sums(const double* p, std::int64_t m) {
  return HWY_DYNAMIC_DISPATCH(ShiftedSumsF64)(p, m);
}
stats_detail::U8Sums stats_u8_sums(const std::uint8_t* p, std::int64_t m) {
  return HWY_DYNAMIC_DISPATCH(U8SumsV)(p, m);
}
}  // namespace tandem::simd
#endif
