// stats: validation, device dispatch, the OpenMP implementation and the
// op-table entry.  The accumulator and its merge are in kernels/stats.cuh.
#include "tandem/ops/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "host/core/parallel.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/ops/reduction.hpp"
#include "host/ops/stats_blocks.hpp"
#include "host/ops/stats_hwy.hpp"
#include "host/core/simd.hpp"
#include "kernels/stats.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

using namespace stats_detail;

// The array is cut into fixed tasks (independent of the thread count, so the
// result is too; handed out dynamically, so a preempted thread does not hold up
// the others). Each task's statistics come from one pass that keeps every
// block of it in cache; tasks merge with Chan's formula. Per dtype:
//
//  - f32: per block of kF32Block values, s1 = sum(x - k) and s2 = sum((x - k)^2)
//    in 32 f32 lanes (each lane adds 32 values), the lanes' partials then added
//    in f64 (about 2.5x less work per element than converting to f64 first).
//    The shift k is the mean of 128 values sampled in the block, so the f32
//    partial sums stay of the order of the block's spread, not of its mean
//    (1e4 + 1e-2 noise keeps the noise's digits). A block's f32 sums are kept
//    only when they are accurate (f32_sums_accurate), else it is redone:
//    non-finite sums (NaN or inf in the block, or (x - k)^2 overflowing f32) and
//    squares that may be subnormal by the exact f64 two-pass block_stats; a
//    shift that the sums show was far from the mean (s1^2 / n > s2 / 4, where
//    m2 = s2 - s1^2 / n would cancel) by summing again around the block's mean.
//    Error: a kept lane sum is within 34 roundings of 2^-24 (the subtraction,
//    31 additions, 2 lane folds); the s1^2 / n <= s2 / 4 rule amplifies that at
//    most ~3x in m2: std within ~3e-6 relative in the worst case, ~1e-9
//    typically (the roundings of independent lanes average out). The sum's
//    error is bounded per block by kF32SumErr * sqrt(n * s2); where a task's
//    bound exceeds kSumTol of its sum (the sum cancels: mean near 0 next to
//    the spread) the task's sum is recomputed in f64 from cache, and the whole
//    array's sum where the tasks' bounds exceed kSumTol of it: sum and mean
//    within 5e-6 relative, ~1e-10 typically. Blocks combine two-pass over their
//    means (no division per block).
//  - u8: exact integer sums of x and x^2 per task (u32 lanes cannot overflow:
//    65536 * 255^2 < 2^32), m2 = (n * sum(x^2) - sum(x)^2) / n from integers.
//  - u16, i32, i64, f64: per block of kBlock, shifted sums around the block's
//    first value in 16 f64 lanes; blocks with NaN/inf redone by block_stats.
// Loads are prefetched into L2 kPrefetchBytes ahead: with the hardware
// prefetchers alone, a loop doing this much work per cache line kept fewer
// lines in flight and reached ~70% of a plain sum's bandwidth.
Status fail(Errc code, const std::string& why) { return {code, "stats: " + why}; }

Status check(const View& src, const View& dst, const Exec& exec) {
  if (!(src.device == exec.device))
    return fail(Errc::invalid_argument, "input is on " + src.device.str() + " but the op runs on " + exec.device.str());
  if (!(dst.device == exec.device))
    return fail(Errc::invalid_argument, "output is on " + dst.device.str() + " but the op runs on " + exec.device.str());
  if (exec.device.is_cuda() && !exec.stream)
    return fail(Errc::invalid_argument, "a CUDA stream is required to run on " + exec.device.str());
  if (!src.is_contiguous()) return fail(Errc::invalid_argument, "input must be contiguous; got " + src.describe());
  if (src.numel() == 0) return fail(Errc::invalid_argument, "input is empty (" + src.describe() + ")");
  if (!src.data) return fail(Errc::invalid_argument, "null input data pointer");
  if (dst.dtype != DType::f64 || dst.ndim != 1 || dst.shape[0] != 6 || !dst.is_contiguous() || !dst.data)
    return fail(Errc::invalid_argument, "output must be a contiguous f64 tensor of shape [6]; got " + dst.describe());
  return {};
}

// ---------------------------------------------------------------------------
// u16, i32, i64, f64: f64 lanes.
// ---------------------------------------------------------------------------


template <class T>
kern::StatsAcc fast_block_stats(const T* p, std::int64_t m) {
  const double k = static_cast<double>(p[0]);
  const Shifted<T> s = simd::stats_shifted_sums(p, m);
  if (!std::isfinite(s.s1) || !std::isfinite(s.s2)) return block_stats(p, m);
  const double n = double(m);
  return kern::stats_from_shifted(n, k, s.s1, s.s2, s.s1 + n * k, static_cast<double>(s.lo),
                                  static_cast<double>(s.hi));
}

template <class T>
kern::StatsAcc f64_task_stats(const T* p, std::int64_t m) {
  kern::StatsAcc acc = kern::stats_empty();
  for (std::int64_t b = 0; b < m; b += kBlock)
    acc = kern::stats_merge(acc, fast_block_stats(p + b, std::min(kBlock, m - b)));
  return acc;
}

// ---------------------------------------------------------------------------
// u8: exact integer sums.
// ---------------------------------------------------------------------------

static_assert(kTask * 255 * 255 < (std::int64_t(1) << 32), "u8 sums of squares of a task must fit in u32");

kern::StatsAcc u8_task_stats(const std::uint8_t* p, std::int64_t m) {
  const U8Sums s = simd::stats_u8_sums(p, m);
  // n * sum(x^2) - sum(x)^2 = n * m2, an exact integer below 2^49.
  const std::int64_t nm2 = m * std::int64_t(s.s2) - std::int64_t(s.s1) * std::int64_t(s.s1);
  const double n = double(m);
  return {n, double(s.s1) / n, double(nm2) / n, double(s.lo), double(s.hi), double(s.s1)};
}

/// The statistics of one task; err: a bound on the error of their sum where
/// it is not negligible (f32), else 0.
template <class T>
kern::StatsAcc task_stats(const T* p, std::int64_t m, double& err) {
  err = 0;
  if constexpr (std::is_same_v<T, float>)
    return f32_task_stats(p, m, err);
  else if constexpr (std::is_same_v<T, std::uint8_t>)
    return u8_task_stats(p, m);
  else
    return f64_task_stats(p, m);
}

// Pairwise merge keeps the summed rounding error at O(log n) merges.
kern::StatsAcc merge_range(const std::vector<kern::StatsAcc>& parts, std::size_t b, std::size_t e) {
  if (e - b == 1) return parts[b];
  const std::size_t mid = b + (e - b) / 2;
  return kern::stats_merge(merge_range(parts, b, mid), merge_range(parts, mid, e));
}

double sum_range(const std::vector<double>& v, std::size_t b, std::size_t e) {
  if (e - b == 1) return v[b];
  const std::size_t mid = b + (e - b) / 2;
  return sum_range(v, b, mid) + sum_range(v, mid, e);
}

template <class T>
kern::StatsAcc cpu_stats(const T* in, std::int64_t n, int threads) {
  const std::int64_t tasks = (n + kTask - 1) / kTask;
  std::vector<kern::StatsAcc> parts(static_cast<std::size_t>(tasks));
  std::vector<double> errs(static_cast<std::size_t>(tasks));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (tasks > 1)
  for (std::int64_t t = 0; t < tasks; ++t) {
    const std::int64_t begin = t * kTask;
    const auto i = static_cast<std::size_t>(t);
    parts[i] = task_stats(in + begin, std::min(n, begin + kTask) - begin, errs[i]);
  }
  kern::StatsAcc acc = merge_range(parts, 0, parts.size());
  if constexpr (std::is_same_v<T, float>) {
    // Each task's sum is within its bound, but their total may cancel: then
    // the whole sum again in f64 (the mean is reported as sum / n).
    if (sum_range(errs, 0, errs.size()) > kSumTol * std::abs(acc.sum)) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (tasks > 1)
      for (std::int64_t t = 0; t < tasks; ++t) {
        const std::int64_t begin = t * kTask;
        errs[static_cast<std::size_t>(t)] = simd::stats_f64_sum(in + begin, std::min(n, begin + kTask) - begin);
      }
      acc.sum = sum_range(errs, 0, errs.size());
    }
  }
  return acc;
}

Status run_cpu(const View& src, const View& dst, const Exec& exec) {
  TANDEM_TRY(detail::simd_ready());  // the TANDEM_SIMD cap, before the first vector kernel
  const kern::StatsAcc acc = visit_dtype(src.dtype, [&](auto tag) {
    using T = decltype(tag);
    return cpu_stats(src.ptr<const T>(), src.numel(), cpu_threads(exec));
  });
  kern::stats_finalize(acc, dst.ptr<double>());
  return {};
}

}  // namespace

namespace {
Status stats_on_cpu(const View& src, const View& dst, const detail::NoParams&, const Exec& exec) {
  return run_cpu(src, dst, exec);
}
}  // namespace

Status stats(const View& src, const View& dst, const Exec& exec) {
  TANDEM_TRY(check(src, dst, exec));
  return detail::on_device("stats", src, dst, detail::NoParams{}, exec, stats_on_cpu,
                           [&](auto stream) { return cuda::stats(src, dst, stream).with_context("stats"); });
}

Status stats(const View& src, Tensor& dst, const Exec& exec) {
  if (!(src.device == exec.device))
    return fail(Errc::invalid_argument, "input is on " + src.device.str() + " but the op runs on " + exec.device.str());
  if (src.numel() == 0) return fail(Errc::invalid_argument, "input is empty (" + src.describe() + ")");
  TANDEM_TRY(Tensor::create(DType::f64, {6}, exec.device, dst).with_context("stats"));
  return stats(src, dst.view(), exec);
}

Status stats(const View& src, Stats& out, const Exec& exec) {
  Tensor t;
  TANDEM_TRY(stats(src, t, exec));
  double v[6];
  const View host = View::array(v, DType::f64, {6});
  TANDEM_TRY(copy(t.view(), host, exec.stream).with_context("stats"));
  TANDEM_TRY(detail::wait_for("stats", exec));
  out.count = static_cast<std::int64_t>(v[0]);
  out.sum = v[1];
  out.min = v[2];
  out.max = v[3];
  out.mean = v[4];
  out.std = v[5];
  return {};
}

// ---------------------------------------------------------------------------
// Op table.
// ---------------------------------------------------------------------------

namespace {

const OpSpec kStats = detail::make_op<detail::NoParams>({
    .name = "stats",
    .kind = OpKind::reduction,
    .doc = "count, sum, min, max, mean, std (ddof=0) of all elements, as an f64 [6] tensor; stable shifted sums "
           "merged with Chan's formula, in f64 (CPU f32 input: f32 block partials, within 1e-5 relative); NaN "
           "propagates",
    .semantics = "a.size, a.sum(), a.min(), a.max(), a.mean(), a.std() of a.astype(np.float64)",
    .layouts = detail::array_layouts(kAllDTypes),
    .run = [](const View& src, Tensor& dst, const detail::NoParams&, const Exec& exec) { return stats(src, dst, exec); },
    .outputs = {"count", "sum", "min", "max", "mean", "std"},
    .combine = detail::combine_stats,
    .finish = detail::finish_stats,
});
}  // namespace

TANDEM_OP_SPECS(stats, &kStats)

}  // namespace tandem
