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
#include "kernels/stats.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

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
constexpr std::int64_t kTask = std::int64_t(1) << 16;
constexpr std::int64_t kBlock = 2048;
constexpr int kLanes = 16;
constexpr std::int64_t kF32Block = 1024;
constexpr int kF32TaskBlocks = int(kTask / kF32Block);
constexpr std::int64_t kPrefetchBytes = 8192;

/// Prefetches into L2 the `bytes` (a multiple of 64 or less) at p + kPrefetchBytes.
template <std::size_t Bytes>
[[gnu::always_inline]] inline void prefetch_ahead(const void* p) {
  const char* c = static_cast<const char*>(p) + kPrefetchBytes;
  for (std::size_t b = 0; b < Bytes; b += 64) __builtin_prefetch(c + b, 0, 2);
}

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

// ---------------------------------------------------------------------------
// u16, i32, i64, f64: f64 lanes.
// ---------------------------------------------------------------------------

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
  for (; i + kLanes <= m; i += kLanes) {
    prefetch_ahead<kLanes * sizeof(T)>(p + i);
    for (int j = 0; j < kLanes; ++j) {
      const T v = p[i + j];
      const double d = static_cast<double>(v) - k;
      a1[j] += d;
      a2[j] += d * d;
      lo[j] = v < lo[j] ? v : lo[j];
      hi[j] = v > hi[j] ? v : hi[j];
    }
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

struct U8Sums {
  std::uint32_t s1, s2;
  std::uint8_t lo, hi;
};

/// sum(x), sum(x^2), min, max of m <= kTask values (u32 arithmetic wraps in the
/// lanes but the totals fit, so they are exact).
TANDEM_CPU_CLONES U8Sums u8_sums(const std::uint8_t* __restrict p, std::int64_t m) {
  std::uint32_t s1 = 0, s2 = 0;
  std::uint8_t lo = 255, hi = 0;
  for (std::int64_t i = 0; i < m; ++i) {
    const std::uint32_t v = p[i];
    s1 += v;
    s2 += v * v;
    lo = p[i] < lo ? p[i] : lo;
    hi = p[i] > hi ? p[i] : hi;
  }
  return {s1, s2, lo, hi};
}

kern::StatsAcc u8_task_stats(const std::uint8_t* p, std::int64_t m) {
  const U8Sums s = u8_sums(p, m);
  // n * sum(x^2) - sum(x)^2 = n * m2, an exact integer below 2^49.
  const std::int64_t nm2 = m * std::int64_t(s.s2) - std::int64_t(s.s1) * std::int64_t(s.s1);
  const double n = double(m);
  return {n, double(s.s1) / n, double(nm2) / n, double(s.lo), double(s.hi), double(s.s1)};
}

// ---------------------------------------------------------------------------
// f32: f32 lanes.
// ---------------------------------------------------------------------------

// The hot loop is written with GCC vectors of W floats (zmm in the AVX-512
// function, ymm in the AVX2 one, xmm otherwise), compiled once per width with
// an explicit target and picked at run time: GCC 12 lowers a 64-byte vector
// in an AVX2 target_clones clone to scalar loads. Vectors are locals or
// references only (no ABI change).
template <int W>
struct F32Vec {
  using V = typename GccVec<float, 4 * W>::V;
  using Vu = typename GccVec<float, 4 * W>::U;
};
template <int W>
struct F64Vec {
  using V = typename GccVec<double, 8 * W>::V;
};
using F32x8 = float __attribute__((vector_size(32)));
using F32x4 = float __attribute__((vector_size(16)));

template <int W>
[[gnu::always_inline]] inline void load(const float* p, typename F32Vec<W>::V& v) {
  v = *reinterpret_cast<const typename F32Vec<W>::Vu*>(p);
}

/// The 32 lanes a[0 .. 32 / W) (lane l in a[l / W][l % W]) folded to 8 in f32:
/// t[j] = (l_j + l_{j+16}) + (l_{j+8} + l_{j+24}), the same for every W.
template <int W>
[[gnu::always_inline]] inline void fold8(typename F32Vec<W>::V* a, float* t) {
  constexpr int N = 32 / W;
  for (int v = 0; v < N / 2; ++v) a[v] += a[v + N / 2];
  if constexpr (W == 16) {
    const F32x8 h = __builtin_shufflevector(a[0], a[0], 0, 1, 2, 3, 4, 5, 6, 7) +
                    __builtin_shufflevector(a[0], a[0], 8, 9, 10, 11, 12, 13, 14, 15);
    std::memcpy(t, &h, sizeof h);
  } else if constexpr (W == 8) {
    const F32x8 h = a[0] + a[1];
    std::memcpy(t, &h, sizeof h);
  } else {
    const F32x4 h0 = a[0] + a[2], h1 = a[1] + a[3];
    std::memcpy(t, &h0, sizeof h0);
    std::memcpy(t + 4, &h1, sizeof h1);
  }
}

/// t[0] + ... + t[7] in f64, in a fixed order.
[[gnu::always_inline]] inline double sum8(const float* t) {
  return ((double(t[0]) + double(t[4])) + (double(t[2]) + double(t[6]))) +
         ((double(t[1]) + double(t[5])) + (double(t[3]) + double(t[7])));
}

/// f32 lane sums of each full block of a task: block b's shift k[b],
/// s1[b] = sum(x - k[b]), s2[b] = sum((x - k[b])^2); and the task's min/max
/// (NaN ignored: a block with NaN is redone).
struct LaneTask {
  float k[kF32TaskBlocks];
  double s1[kF32TaskBlocks], s2[kF32TaskBlocks];
  float lo, hi;
};

/// A shift near a block's mean that depends on no other block: the mean of 32
/// values in the middle of each quarter (a ramp's mean exactly; i.i.d. data
/// within sigma / 11 of it).
template <int W>
[[gnu::always_inline]] inline float block_shift(const float* p) {
  using V = typename F32Vec<W>::V;
  constexpr int N = 32 / W;
  constexpr std::int64_t q = kF32Block / 4, c = q / 2 - 16;
  V s[N];
  for (int v = 0; v < N; ++v) {
    V w0, w1, w2, w3;
    load<W>(p + c + v * W, w0);
    load<W>(p + q + c + v * W, w1);
    load<W>(p + 2 * q + c + v * W, w2);
    load<W>(p + 3 * q + c + v * W, w3);
    s[v] = (w0 + w1) + (w2 + w3);
  }
  float t[8];
  fold8<W>(s, t);
  const float k = static_cast<float>(sum8(t) * (1.0 / 128));
  return std::isfinite(k) ? k : p[0];
}

template <int W>
[[gnu::always_inline]] inline void f32_task_sums_w(const float* __restrict p, int blocks, LaneTask& out) {
  using V = typename F32Vec<W>::V;
  constexpr int N = 32 / W;             // vectors per 32 lanes
  constexpr int M = N < 2 ? N : 2;      // min/max accumulators (registers for AVX2)
  V lo[M], hi[M];
  for (int v = 0; v < M; ++v) lo[v] = hi[v] = V{} + p[0];
  // The next block's shift is read a block ahead, off the critical path.
  float next = blocks > 0 ? block_shift<W>(p) : 0.0f;
  for (int blk = 0; blk < blocks; ++blk) {
    const float* __restrict q = p + std::int64_t(blk) * kF32Block;
    const float k = next;
    if (blk + 1 < blocks) next = block_shift<W>(q + kF32Block);
    V a[N] = {}, b[N] = {};
    for (std::int64_t i = 0; i < kF32Block; i += 32) {
      prefetch_ahead<32 * sizeof(float)>(q + i);
#pragma GCC unroll 8
      for (int v = 0; v < N; ++v) {
        V x;
        load<W>(q + i + v * W, x);
        const V d = x - k;
        a[v] += d;
        b[v] += d * d;
        lo[v % M] = x < lo[v % M] ? x : lo[v % M];
        hi[v % M] = x > hi[v % M] ? x : hi[v % M];
      }
    }
    float t[8];
    out.k[blk] = k;
    fold8<W>(a, t);
    out.s1[blk] = sum8(t);
    fold8<W>(b, t);
    out.s2[blk] = sum8(t);
  }
  float l[W], h[W];
  for (int v = 1; v < M; ++v) {
    lo[0] = lo[v] < lo[0] ? lo[v] : lo[0];
    hi[0] = hi[v] > hi[0] ? hi[v] : hi[0];
  }
  std::memcpy(l, &lo[0], sizeof l);
  std::memcpy(h, &hi[0], sizeof h);
  out.lo = l[0];
  out.hi = h[0];
  for (int j = 1; j < W; ++j) {
    out.lo = l[j] < out.lo ? l[j] : out.lo;
    out.hi = h[j] > out.hi ? h[j] : out.hi;
  }
}

/// sum(x) in 2 * W f64 lanes: a task's or the array's sum that the f32
/// partials could not guarantee (see kSumTol).
template <int W>
[[gnu::always_inline]] inline double f64_sum_w(const float* __restrict p, std::int64_t m) {
  using H = typename F32Vec<W / 2>::V;
  using D = typename F64Vec<W / 2>::V;
  D a[4] = {};
  std::int64_t i = 0;
  for (; i + 2 * W <= m; i += 2 * W) {
    prefetch_ahead<2 * W * sizeof(float)>(p + i);
    for (int v = 0; v < 4; ++v) {
      H h;
      load<W / 2>(p + i + v * (W / 2), h);
      a[v] += __builtin_convertvector(h, D);
    }
  }
  double l[W / 2];
  const D t = (a[0] + a[2]) + (a[1] + a[3]);
  std::memcpy(l, &t, sizeof l);
  double sum = 0;
  for (; i < m; ++i) sum += p[i];
  for (int j = 0; j < W / 2; ++j) sum += l[j];
  return sum;
}

// __builtin_cpu_supports("x86-64-v4") needs GCC 12; other compilers take the
// generic width.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && \
    !defined(__CUDACC__) && !defined(TANDEM_NO_CPU_CLONES)
#define TANDEM_STATS_X86_LEVELS 1
__attribute__((target("arch=x86-64-v4"))) void f32_task_sums_v4(const float* p, int blocks, LaneTask& out) {
  f32_task_sums_w<16>(p, blocks, out);
}
__attribute__((target("arch=x86-64-v3"))) void f32_task_sums_v3(const float* p, int blocks, LaneTask& out) {
  f32_task_sums_w<8>(p, blocks, out);
}
__attribute__((target("arch=x86-64-v4"))) double f64_sum_v4(const float* p, std::int64_t m) {
  return f64_sum_w<16>(p, m);
}
__attribute__((target("arch=x86-64-v3"))) double f64_sum_v3(const float* p, std::int64_t m) {
  return f64_sum_w<8>(p, m);
}
int x86_level() {
  static const int level = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("x86-64-v4") ? 4 : __builtin_cpu_supports("x86-64-v3") ? 3 : 0;
  }();
  return level;
}
#endif

/// The widest of the three the CPU runs (also for f64_sum).
void f32_task_sums(const float* p, int blocks, LaneTask& out) {
#if TANDEM_STATS_X86_LEVELS
  const int level = x86_level();
  if (level >= 4) return f32_task_sums_v4(p, blocks, out);
  if (level >= 3) return f32_task_sums_v3(p, blocks, out);
#endif
  f32_task_sums_w<4>(p, blocks, out);
}

double f64_sum(const float* p, std::int64_t m) {
#if TANDEM_STATS_X86_LEVELS
  const int level = x86_level();
  if (level >= 4) return f64_sum_v4(p, m);
  if (level >= 3) return f64_sum_v3(p, m);
#endif
  return f64_sum_w<4>(p, m);
}

/// The same sums for one block of m <= kF32Block values around a given k (a
/// task's last, partial block, and redone blocks), with its min/max.
TANDEM_CPU_CLONES Shifted<float> f32_shifted_sums(const float* __restrict p, std::int64_t m, float k) {
  float a1[32] = {}, a2[32] = {};
  float lo[32], hi[32];
  for (int j = 0; j < 32; ++j) lo[j] = hi[j] = p[0];
  std::int64_t i = 0;
  for (; i + 32 <= m; i += 32)
    for (int j = 0; j < 32; ++j) {
      const float d = p[i + j] - k;
      a1[j] += d;
      a2[j] += d * d;
      lo[j] = p[i + j] < lo[j] ? p[i + j] : lo[j];
      hi[j] = p[i + j] > hi[j] ? p[i + j] : hi[j];
    }
  for (int j = 0; i < m; ++i, ++j) {
    const float d = p[i] - k;
    a1[j] += d;
    a2[j] += d * d;
    lo[j] = p[i] < lo[j] ? p[i] : lo[j];
    hi[j] = p[i] > hi[j] ? p[i] : hi[j];
  }
  float t1[8], t2[8];
  for (int j = 0; j < 8; ++j) {
    t1[j] = (a1[j] + a1[j + 16]) + (a1[j + 8] + a1[j + 24]);
    t2[j] = (a2[j] + a2[j + 16]) + (a2[j + 8] + a2[j + 24]);
  }
  for (int w = 16; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) {
      lo[j] = lo[j + w] < lo[j] ? lo[j + w] : lo[j];
      hi[j] = hi[j + w] > hi[j] ? hi[j + w] : hi[j];
    }
  return {sum8(t1), sum8(t2), lo[0], hi[0]};
}

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
/// A task's (or the array's) sum is recomputed in f64 when its error bound is
/// above this fraction of it: the sum of an array whose mean is small next to
/// its spread (|mean| < ~0.5 sigma) cancels, and f32 partials cannot give it
/// to 1e-5 relative.
constexpr double kSumTol = 5e-6;

/// A block whose f32 sums around k were rejected: summed again around its own
/// mean (from cache) when that is what went wrong, else exactly in f64. err
/// grows by the bound on the error of its sum.
kern::StatsAcc redo_block(const float* p, std::int64_t m, float k, double s1, double& err) {
  const double n = double(m);
  const float k2 = static_cast<float>(double(k) + s1 / n);
  if (std::isfinite(s1) && std::isfinite(k2)) {
    const Shifted<float> s = f32_shifted_sums(p, m, k2);
    if (f32_sums_accurate(s.s1, s.s2, p, m)) {
      err += kF32SumErr * std::sqrt(n * s.s2);
      return kern::stats_from_shifted(n, k2, s.s1, s.s2, n * double(k2) + s.s1, double(s.lo), double(s.hi));
    }
  }
  return block_stats(p, m);
}

/// One task: full blocks in f32_task_sums, a last partial block around its
/// middle value. The blocks combine two-pass over their means (exact in exact
/// arithmetic like Chan's merge, no division per block):
/// m2 = sum(m2_b) + sum(n_b * (mean_b - mean)^2). err: the bound on the error
/// of the returned sum (0 when it was recomputed in f64).
kern::StatsAcc f32_task_stats(const float* p, std::int64_t m, double& err) {
  const int full = int(m / kF32Block);
  const std::int64_t rest = m - std::int64_t(full) * kF32Block;
  LaneTask t;
  f32_task_sums(p, full, t);
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
    const Shifted<float> s = f32_shifted_sums(q, rest, k);
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
    sum = f64_sum(p, m);
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
        errs[static_cast<std::size_t>(t)] = f64_sum(in + begin, std::min(n, begin + kTask) - begin);
      }
      acc.sum = sum_range(errs, 0, errs.size());
    }
  }
  return acc;
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
