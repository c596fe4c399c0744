// stats on f32: the f32-lane path of the CPU implementation (the method is
// described at the top of stats.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "host/ops/stats_blocks.hpp"

namespace tandem::stats_detail {
namespace {

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

}  // namespace

double f64_sum(const float* p, std::int64_t m) {
#if TANDEM_STATS_X86_LEVELS
  const int level = x86_level();
  if (level >= 4) return f64_sum_v4(p, m);
  if (level >= 3) return f64_sum_v3(p, m);
#endif
  return f64_sum_w<4>(p, m);
}

namespace {

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

}  // namespace tandem::stats_detail
