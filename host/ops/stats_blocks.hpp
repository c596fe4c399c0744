// What stats.cpp (the op, the u8 and f64-lane paths), stats_f32.cpp (the
// f32-lane path) and their vector loops (stats_hwy.cpp) share: the task and
// block sizes, the exact two-pass statistics of a block, and what the vector
// loops return.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "kernels/stats.cuh"

namespace tandem::stats_detail {

constexpr std::int64_t kTask = std::int64_t(1) << 16;
constexpr std::int64_t kBlock = 2048;
constexpr int kLanes = 16;
constexpr std::int64_t kF32Block = 1024;
constexpr int kF32TaskBlocks = int(kTask / kF32Block);
constexpr std::int64_t kPrefetchBytes = 8192;

/// Exact two-pass statistics of m values (NaN-aware): the fallback of every path.
template <class T>
inline kern::StatsAcc block_stats(const T* p, std::int64_t m) {
  double sum = 0;
  double mn = std::numeric_limits<double>::infinity();
  double mx = -mn;
  int nan = 0;
#pragma omp simd reduction(+ : sum) reduction(min : mn) reduction(max : mx) reduction(| : nan)
  for (std::int64_t i = 0; i < m; ++i) {
    const double v = static_cast<double>(p[i]);
    sum += v;
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
    nan |= (v != v);
  }
  const double mean = sum / double(m);
  double m2 = 0;
#pragma omp simd reduction(+ : m2)
  for (std::int64_t i = 0; i < m; ++i) {
    const double d = static_cast<double>(p[i]) - mean;
    m2 += d * d;
  }
  if (nan) mn = mx = std::numeric_limits<double>::quiet_NaN();
  return {double(m), mean, m2, mn, mx, sum};
}

/// Sums of a block of m elements shifted by k: s1 = sum(x - k), s2 = sum((x - k)^2),
/// and its min/max (meaningful only when s1 and s2 are finite).
template <class T>
struct Shifted {
  double s1, s2;
  T lo, hi;
};

/// f32 lane sums of each full block of a task: block b's shift k[b],
/// s1[b] = sum(x - k[b]), s2[b] = sum((x - k[b])^2); and the task's min/max
/// (NaN ignored: a block with NaN is redone).
struct LaneTask {
  float k[kF32TaskBlocks];
  double s1[kF32TaskBlocks], s2[kF32TaskBlocks];
  float lo, hi;
};

/// sum(x), sum(x^2), min, max of m <= kTask u8 values (the totals fit in u32).
struct U8Sums {
  std::uint32_t s1, s2;
  std::uint8_t lo, hi;
};

/// A task's (or the array's) sum is recomputed in f64 when its error bound is
/// above this fraction of it: the sum of an array whose mean is small next to
/// its spread (|mean| < ~0.5 sigma) cancels, and f32 partials cannot give it
/// to 1e-5 relative.
constexpr double kSumTol = 5e-6;

/// The statistics of one f32 task of m <= kTask values; err: a bound on the
/// error of their sum (stats_f32.cpp).
kern::StatsAcc f32_task_stats(const float* p, std::int64_t m, double& err);

}  // namespace tandem::stats_detail
