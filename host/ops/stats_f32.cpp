// stats on f32: the f32-lane path of the CPU implementation (the method is
// described at the top of stats.cpp; its vector loops are in stats_hwy.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "host/ops/stats_blocks.hpp"
#include "host/ops/stats_hwy.hpp"

namespace tandem::stats_detail {
namespace {

/// Below this s2 some squares (x - k)^2 of a non-constant block may be
/// subnormal in f32 (|x - k| < 2^-63); their error is then no longer small
/// relative to s2.
constexpr double kF32TinyS2 = 0x1p-90;

bool all_equal(const float* p, std::int64_t m) {
  int diff = 0;
  for (std::int64_t i = 0; i < m; ++i) diff |= p[i] != p[0];
  return !diff;
}

/// Whether the f32 lane sums of the block [p, p + m) around its shift give its
/// statistics to the accuracy in the header comment.
bool f32_sums_accurate(double s1, double s2, const float* p, std::int64_t m) {
  if (!std::isfinite(s1) || !std::isfinite(s2)) return false;
  if (s1 * s1 > 0.25 * double(m) * s2) return false;  // shift far from the mean: m2 would cancel
  return s2 >= kF32TinyS2 || all_equal(p, m);
}

/// Bound on |s1 - sum(x - k)| for a block's f32 lane sums, per unit of
/// sum|x - k| <= sqrt(n * s2) (Cauchy-Schwarz): the rounding of x - k, 31
/// additions in a lane and 3 lane folds, each within 2^-24 of a partial sum.
constexpr double kF32SumErr = 40 * 0x1p-24;

/// A block whose f32 sums around k were rejected: summed again around its own
/// mean (from cache) when that is what went wrong, else exactly in f64. err
/// grows by the bound on the error of its sum.
kern::StatsAcc redo_block(const float* p, std::int64_t m, float k, double s1, double& err) {
  const double n = double(m);
  const float k2 = static_cast<float>(double(k) + s1 / n);
  if (std::isfinite(s1) && std::isfinite(k2)) {
    const Shifted<float> s = simd::stats_f32_shifted_sums(p, m, k2);
    if (f32_sums_accurate(s.s1, s.s2, p, m)) {
      err += kF32SumErr * std::sqrt(n * s.s2);
      return kern::stats_from_shifted(n, k2, s.s1, s.s2, n * double(k2) + s.s1, double(s.lo), double(s.hi));
    }
  }
  return block_stats(p, m);
}

}  // namespace


/// One task: full blocks in f32_task_sums, a last partial block around its
/// middle value. The blocks combine two-pass over their means (exact in exact
/// arithmetic like Chan's merge, no division per block):
/// m2 = sum(m2_b) + sum(n_b * (mean_b - mean)^2). err: the bound on the error
/// of the returned sum (0 when it was recomputed in f64).
kern::StatsAcc f32_task_stats(const float* p, std::int64_t m, double& err) {
  const int full = int(m / kF32Block);
  const std::int64_t rest = m - std::int64_t(full) * kF32Block;
  LaneTask t;
  simd::stats_f32_task_sums(p, full, t);
  double mn = double(t.lo), mx = double(t.hi), sum = 0;
  double cnt[kF32TaskBlocks + 1], mean[kF32TaskBlocks + 1], m2[kF32TaskBlocks + 1];
  int blocks = 0;
  err = 0;
  auto keep = [&](const kern::StatsAcc& a) {
    cnt[blocks] = a.n;
    mean[blocks] = a.mean;
    m2[blocks] = a.m2;
    sum += a.sum;
    ++blocks;
  };
  constexpr double n = double(kF32Block);
  for (int b = 0; b < full; ++b) {
    const float* q = p + std::int64_t(b) * kF32Block;
    const double k = t.k[b], s1 = t.s1[b], s2 = t.s2[b];
    if (f32_sums_accurate(s1, s2, q, kF32Block)) {
      err += kF32SumErr * std::sqrt(n * s2);
      keep(kern::stats_from_shifted(n, k, s1, s2, n * k + s1, 0, 0));  // min/max: the task's
    } else {
      const kern::StatsAcc a = redo_block(q, kF32Block, t.k[b], s1, err);
      mn = kern::nan_min(mn, a.min);
      mx = kern::nan_max(mx, a.max);
      keep(a);
    }
  }
  if (rest > 0) {
    const float* q = p + std::int64_t(full) * kF32Block;
    const float k = q[rest / 2];
    const Shifted<float> s = simd::stats_f32_shifted_sums(q, rest, k);
    const double r = double(rest);
    kern::StatsAcc a;
    if (f32_sums_accurate(s.s1, s.s2, q, rest)) {
      err += kF32SumErr * std::sqrt(r * s.s2);
      a = kern::stats_from_shifted(r, k, s.s1, s.s2, r * k + s.s1, double(s.lo), double(s.hi));
    } else {
      a = redo_block(q, rest, k, s.s1, err);
    }
    mn = full ? kern::nan_min(mn, a.min) : a.min;
    mx = full ? kern::nan_max(mx, a.max) : a.max;
    keep(a);
  }
  if (err > kSumTol * std::abs(sum)) {  // cancelling sum (still in L2): recompute it
    sum = simd::stats_f64_sum(p, m);
    err = 0;
  }
  const double mu = sum / double(m);
  double within = 0, between = 0;
  for (int b = 0; b < blocks; ++b) {
    within += m2[b];
    between += cnt[b] * (mean[b] - mu) * (mean[b] - mu);
  }
  return {double(m), mu, within + between, mn, mx, sum};
}

}  // namespace tandem::stats_detail
