// Accumulator of the stats op shared by the OpenMP implementation
// (host/stats.cpp) and the CUDA kernels (kernels/stats.cu): partial results
// of any disjoint pieces of the array merge with Chan et al.'s parallel
// variance formula.  Compiled by g++ and nvcc; no cuda_runtime.h here.
#pragma once

#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/elementwise.cuh"  // nan_min / nan_max
#include "tandem/tensor.hpp"

namespace tandem::kern {

/// Statistics of a piece of the array, all in f64.
struct StatsAcc {
  double n;     ///< element count (exact up to 2^53)
  double mean;  ///< running mean, used for merging (the reported mean is sum / n, as NumPy)
  double m2;    ///< sum of squared deviations from mean
  double min;
  double max;
  double sum;
};

TANDEM_HD StatsAcc stats_empty() {
  const double inf = std::numeric_limits<double>::infinity();
  return {0.0, 0.0, 0.0, inf, -inf, 0.0};
}

/// Merges two pieces (Chan, Golub & LeVeque): exact in exact arithmetic, and
/// no cancellation between a large mean and a small spread.
TANDEM_HD StatsAcc stats_merge(const StatsAcc& a, const StatsAcc& b) {
  if (a.n == 0) return b;
  if (b.n == 0) return a;
  const double n = a.n + b.n;
  const double delta = b.mean - a.mean;
  StatsAcc r;
  r.n = n;
  r.mean = a.mean + delta * (b.n / n);
  r.m2 = a.m2 + b.m2 + delta * delta * (a.n / n) * b.n;
  r.min = nan_min(a.min, b.min);
  r.max = nan_max(a.max, b.max);
  r.sum = a.sum + b.sum;
  return r;
}

/// A piece from sums shifted by one of its own values k: s1 = sum(x - k),
/// s2 = sum((x - k)^2).  With k inside the data the shifted sums stay small, so
/// m2 = s2 - s1^2 / n keeps f64 precision relative to the spread.
TANDEM_HD StatsAcc stats_from_shifted(double n, double k, double s1, double s2, double sum, double mn,
                                      double mx) {
  if (n == 0) return stats_empty();
  double m2 = s2 - s1 * (s1 / n);
  m2 = m2 < 0 ? 0.0 : m2;  // rounding; NaN passes
  return {n, k + s1 / n, m2, mn, mx, sum};
}

/// The six reported values: count, sum, min, max, mean = sum / n, std = sqrt(m2 / n).
TANDEM_HD void stats_finalize(const StatsAcc& a, double* out) {
  out[0] = a.n;
  out[1] = a.sum;
  out[2] = a.min;
  out[3] = a.max;
  out[4] = a.sum / a.n;
  out[5] = ::sqrt(a.m2 / a.n);
}

}  // namespace tandem::kern

namespace tandem::cuda {

/// Queues the statistics of src (contiguous, non-empty, on a CUDA device) into
/// dst (f64 [6], same device) on `stream`.  Validated by the caller.
Status stats(const View& src, const View& dst, void* stream);

}  // namespace tandem::cuda
