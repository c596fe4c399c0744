// Median filter: the per-pixel math shared by the OpenMP implementation
// (host/median.cpp) and the CUDA kernels (kernels/median.cu).
//
// Small windows (3x3 .. 7x7) use selection networks built from compare-exchange
// steps on registers (forgetful selection, below; 3x3 also via sorted columns):
// branch-free, so GCC vectorises them across pixels and each CUDA thread runs
// one on its window. Larger windows: the CPU slides histograms (u8) or selects
// among the window's keys (u16, f32); the GPU runs a bitwise radix select over
// the window's keys. Keys are unsigned integers ordered like the values.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/common.cuh"
#include "tandem/ops/median.hpp"

#if defined(__CUDACC__)
#define TANDEM_MEDIAN_UNROLL _Pragma("unroll")
#define TANDEM_MEDIAN_HD TANDEM_HD
#else
#define TANDEM_MEDIAN_UNROLL _Pragma("GCC unroll 64")
// The network must be inlined whole into the row loop for GCC to vectorise it.
#define TANDEM_MEDIAN_HD inline __attribute__((always_inline))
#endif

namespace tandem::kern {

/// Compare-exchange: afterwards a <= b. Written as two independent selects so
/// that GCC emits plain min / max instructions for every type (a shared
/// comparison costs an extra blend for floats). With NaN operands a value may
/// be duplicated or dropped: medians of f32 windows holding NaN are unspecified.
template <class T>
TANDEM_MEDIAN_HD void cas(T& a, T& b) {
  const T lo = b < a ? b : a;
  const T hi = a < b ? b : a;
  a = lo;
  b = hi;
}

template <class T>
TANDEM_MEDIAN_HD T min2(T a, T b) {
  return b < a ? b : a;
}
template <class T>
TANDEM_MEDIAN_HD T max2(T a, T b) {
  return a < b ? b : a;
}

/// Median of three (4 min / max).
template <class T>
TANDEM_MEDIAN_HD T med3(T a, T b, T c) {
  return max2(min2(a, b), min2(max2(a, b), c));
}

/// Sorts three values.
template <class T>
TANDEM_MEDIAN_HD void sort3(T& a, T& b, T& c) {
  cas(a, b);
  cas(b, c);
  cas(a, b);
}

/// The median of a 3x3 window from its three columns, each already sorted
/// (lo_i <= mid_i <= hi_i): med3(max of the lows, median of the middles, min of
/// the highs), the classic identity (the tests check it against a plain sort).
/// 12 min / max instead of the 40 of the generic network, and the column sorts
/// are shared by three neighbouring windows.
template <class T>
TANDEM_MEDIAN_HD T median3x3_sorted_columns(T lo0, T lo1, T lo2, T mid0, T mid1, T mid2, T hi0, T hi1, T hi2) {
  const T lo = max2(max2(lo0, lo1), lo2);
  const T hi = min2(min2(hi0, hi1), hi2);
  return med3(lo, med3(mid0, mid1, mid2), hi);
}

namespace median_detail {

// Forgetful selection (Paeth): for N = 2m - 1 values, any m + 1 of them hold an
// element below the median (their minimum: m elements lie above it) and one
// above it (their maximum). Dropping both keeps the median, so: take m + 1
// values, drop their min and max, add the next value, repeat until all are in;
// the last three hold the median. The set is v[Lo, Lo + n); Lo + n == m + 1.
template <class T, int Lo, int n>
TANDEM_MEDIAN_HD void min_to_front_max_to_back(T* v) {
  // Pair the two halves so the minimum lies in the lower half, the maximum in
  // the upper one (the middle element of an odd set belongs to both).
  TANDEM_MEDIAN_UNROLL
  for (int i = 0; i < n / 2; ++i) cas(v[Lo + i], v[Lo + n - 1 - i]);
  TANDEM_MEDIAN_UNROLL
  for (int i = 1; i < (n + 1) / 2; ++i) cas(v[Lo], v[Lo + i]);
  TANDEM_MEDIAN_UNROLL
  for (int i = n / 2; i < n - 1; ++i) cas(v[Lo + i], v[Lo + n - 1]);
}

template <class T, int N, int Lo, int Next>
TANDEM_MEDIAN_HD T forgetful(T* v) {
  constexpr int n = (N + 1) / 2 + 1 - Lo;
  if constexpr (Next == N) {
    static_assert(n == 3, "forgetful selection ends with three candidates");
    return med3(v[Lo], v[Lo + 1], v[Lo + 2]);
  } else {
    min_to_front_max_to_back<T, Lo, n>(v);
    v[Lo + n - 1] = v[Next];  // the maximum leaves, the next value joins
    return forgetful<T, N, Lo + 1, Next + 1>(v);  // the minimum leaves
  }
}

}  // namespace median_detail

/// The median of v[0..N) (N odd >= 3); v is clobbered.
template <class T, int N>
TANDEM_MEDIAN_HD T median_of(T* v) {
  static_assert(N % 2 == 1 && N >= 3, "median_of needs an odd count >= 3");
  return median_detail::forgetful<T, N, 0, (N + 1) / 2 + 1>(v);
}

/// Keys: unsigned integers with the order of the values. f32 uses the IEEE
/// total order (-NaN < -inf < ... < -0 < +0 < ... < +inf < +NaN).
template <class T>
struct MedianKey {
  static constexpr int bits = 8 * int(sizeof(T));
  TANDEM_HD static std::uint32_t key(T v) { return v; }
  TANDEM_HD static T value(std::uint32_t k) { return static_cast<T>(k); }
};

template <>
struct MedianKey<float> {
  static constexpr int bits = 32;
  TANDEM_HD static std::uint32_t key(float v) {
#if defined(__CUDA_ARCH__)
    const std::uint32_t u = __float_as_uint(v);
#else
    std::uint32_t u;
    std::memcpy(&u, &v, sizeof u);
#endif
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  }
  TANDEM_HD static float value(std::uint32_t k) {
    const std::uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float v;
    std::memcpy(&v, &u, sizeof v);
    return v;
#endif
  }
};

/// The key of rank `rank` (0-based) among the K x K keys `key_at(dy, dx)`:
/// decides one bit per pass, most significant first, by counting the keys that
/// match the bits decided so far and have a 0 in the current bit.
template <int Bits, class KeyAt>
TANDEM_HD std::uint32_t radix_select(int K, int rank, KeyAt key_at) {
  std::uint32_t prefix = 0;
  std::uint32_t mask = 0;
  for (int b = Bits - 1; b >= 0; --b) {
    const std::uint32_t bit = 1u << b;
    const std::uint32_t m = mask | bit;
    int zeros = 0;
    for (int dy = 0; dy < K; ++dy)
      for (int dx = 0; dx < K; ++dx) zeros += (key_at(dy, dx) & m) == prefix ? 1 : 0;
    if (rank >= zeros) {
      rank -= zeros;
      prefix |= bit;
    }
    mask = m;
  }
  return prefix;
}

/// Clamps a coordinate into [0, n): the replicate border medianBlur uses.
TANDEM_HD int clamp_index(int p, int n) { return p < 0 ? 0 : (p >= n ? n - 1 : p); }

}  // namespace tandem::kern

namespace tandem::cuda {
/// CUDA launcher: `src` and `dst` validated by tandem::median, on the same device.
Status median(const View& src, const View& dst, const MedianParams& p, void* stream);
}  // namespace tandem::cuda
