// stats: validation, device dispatch, the OpenMP implementation and the
// op-table entry.  The accumulator and its merge are in kernels/stats.cuh.
#include "tandem/ops/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "host/parallel.hpp"
#include "kernels/stats.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"
#if TANDEM_WITH_CUDA
#include "kernels/runtime.hpp"
#endif

namespace tandem {
namespace {

// The array is cut into fixed tasks (independent of the thread count, so the
// result is too; handed out dynamically, so a preempted thread does not hold up
// the others), each task into cache-resident blocks. A block's sums are taken
// around a shift k (its first element) in kLanes independent f64 accumulators
// (vectorised, no loop-carried latency chain); min/max in the input type.
// Blocks and tasks merge with Chan's formula. A block whose shifted sums are
// not finite (NaN or inf in it) is redone by the exact two-pass block_stats.
constexpr std::int64_t kTask = std::int64_t(1) << 16;
constexpr std::int64_t kBlock = 2048;
constexpr int kLanes = 16;

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

template <class T>
kern::StatsAcc block_stats(const T* p, std::int64_t m) {
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

template <class T>
TANDEM_CPU_CLONES Shifted<T> shifted_sums(const T* __restrict p, std::int64_t m, double k) {
  double a1[kLanes] = {}, a2[kLanes] = {};
  T lo[kLanes], hi[kLanes];
  for (int j = 0; j < kLanes; ++j) lo[j] = hi[j] = p[0];
  std::int64_t i = 0;
  for (; i + kLanes <= m; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const T v = p[i + j];
      const double d = static_cast<double>(v) - k;
      a1[j] += d;
      a2[j] += d * d;
      lo[j] = v < lo[j] ? v : lo[j];
      hi[j] = v > hi[j] ? v : hi[j];
    }
  for (int j = 0; i < m; ++i, ++j) {
    const T v = p[i];
    const double d = static_cast<double>(v) - k;
    a1[j] += d;
    a2[j] += d * d;
    lo[j] = v < lo[j] ? v : lo[j];
    hi[j] = v > hi[j] ? v : hi[j];
  }
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) {
      a1[j] += a1[j + w];
      a2[j] += a2[j + w];
      lo[j] = lo[j + w] < lo[j] ? lo[j + w] : lo[j];
      hi[j] = hi[j + w] > hi[j] ? hi[j + w] : hi[j];
    }
  return {a1[0], a2[0], lo[0], hi[0]};
}

template <class T>
kern::StatsAcc fast_block_stats(const T* p, std::int64_t m) {
  const double k = static_cast<double>(p[0]);
  const Shifted<T> s = shifted_sums(p, m, k);
  if (!std::isfinite(s.s1) || !std::isfinite(s.s2)) return block_stats(p, m);
  const double n = double(m);
  return kern::stats_from_shifted(n, k, s.s1, s.s2, s.s1 + n * k, static_cast<double>(s.lo),
                                  static_cast<double>(s.hi));
}

// Pairwise merge keeps the summed rounding error at O(log n) merges.
kern::StatsAcc merge_range(const std::vector<kern::StatsAcc>& parts, std::size_t b, std::size_t e) {
  if (e - b == 1) return parts[b];
  const std::size_t mid = b + (e - b) / 2;
  return kern::stats_merge(merge_range(parts, b, mid), merge_range(parts, mid, e));
}

template <class T>
kern::StatsAcc cpu_stats(const T* in, std::int64_t n, int threads) {
  const std::int64_t tasks = (n + kTask - 1) / kTask;
  std::vector<kern::StatsAcc> parts(static_cast<std::size_t>(tasks));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (tasks > 1)
  for (std::int64_t t = 0; t < tasks; ++t) {
    const std::int64_t end = std::min(n, (t + 1) * kTask);
    kern::StatsAcc acc = kern::stats_empty();
    for (std::int64_t b = t * kTask; b < end; b += kBlock)
      acc = kern::stats_merge(acc, fast_block_stats(in + b, std::min(kBlock, end - b)));
    parts[static_cast<std::size_t>(t)] = acc;
  }
  return merge_range(parts, 0, parts.size());
}

Status run_cpu(const View& src, const View& dst, const Exec& exec) {
  const kern::StatsAcc acc = visit_dtype(src.dtype, [&](auto tag) {
    using T = decltype(tag);
    return cpu_stats(src.ptr<const T>(), src.numel(), cpu_threads(exec));
  });
  kern::stats_finalize(acc, dst.ptr<double>());
  return {};
}

}  // namespace

Status stats(const View& src, const View& dst, const Exec& exec) {
  TANDEM_TRY(check(src, dst, exec));
  if (exec.device.is_cpu()) return run_cpu(src, dst, exec);
#if TANDEM_WITH_CUDA
  return cuda::stats(src, dst, exec.stream).with_context("stats");
#else
  return fail(Errc::unsupported, cuda_status());
#endif
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
#if TANDEM_WITH_CUDA
  if (exec.device.is_cuda()) TANDEM_TRY(cuda::stream_synchronize(exec.stream).with_context("stats"));
#endif
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

Status run_stats(const OpArgs&, const View& src, Tensor& dst, const Exec& exec) { return stats(src, dst, exec); }

const OpSpec kStats{
    "stats", OpKind::reduction,
    "count, sum, min, max, mean, std (ddof=0) of all elements, as an f64 [6] tensor; accumulated in f64 "
    "with a stable (Chan) variance; NaN propagates",
    "a.size, a.sum(), a.min(), a.max(), a.mean(), a.std() of a.astype(np.float64)",
    {},
    std::vector<DType>(std::begin(kAllDTypes), std::end(kAllDTypes)),
    kAnyChannels,
    run_stats,
    {"count", "sum", "min", "max", "mean", "std"}};

const OpSpec* const kOps[] = {&kStats};

}  // namespace

namespace detail {
std::span<const OpSpec* const> stats_ops() { return kOps; }
}  // namespace detail

}  // namespace tandem
