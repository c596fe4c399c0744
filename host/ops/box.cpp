// box: validation, dispatch, the OpenMP implementation and the op-table entry.
#include "tandem/ops/box.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <span>

#include "host/ops/neighbourhood.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "kernels/box.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

template <class T>
struct BoxJob {
  const View* src;
  const View* dst;
  int k;
  kern::BorderMode mode;
  T cval;
  const T* const_row;  // a row of cval: what rows outside the image read in constant mode
};

// Horizontal window sums along one row of column sums: hs[p] = sum of cs over
// pixels p .. p+k-1. The differences between neighbouring windows are taken in
// one vectorised pass, then summed up in registers (one chain per channel, a
// single add long; CH is a constant so the channels' chains interleave).
template <int CH, class A>
TANDEM_CPU_INLINE void running_sums(A* __restrict hs, const A* __restrict cs, int k, int npx) {
  const int n = npx * CH;
  const A* __restrict enter = cs + std::size_t(k - 1) * CH;
  for (int i = CH; i < n; ++i) hs[i] = enter[i] - cs[i - CH];
  A s[CH];
  for (int c = 0; c < CH; ++c) {
    s[c] = A(0);
    for (int j = 0; j < k; ++j) s[c] += cs[j * CH + c];
    hs[c] = s[c];
  }
  for (int p = 1; p < npx; ++p)
    for (int c = 0; c < CH; ++c) hs[p * CH + c] = s[c] += hs[p * CH + c];
}

// The same window sums for small K and 32-bit sums, summed directly: K - 1
// vector adds per 16 outputs beat the running sum's serial chain of one add
// per pixel (integer sums, so the result is the same).
constexpr int kDirectMaxK = 24;
template <int CH, class A>
TANDEM_CPU_INLINE void direct_sums(A* __restrict hs, const A* __restrict cs, int k, int npx) {
  using VecI = typename GccVec<A, 64>::V;
  using VecIu = typename GccVec<A, 64>::U;
  constexpr int V = 64 / int(sizeof(A));
  const int n = npx * CH;
  int i = 0;
  for (; i + 2 * V <= n; i += 2 * V) {
    const A* __restrict c = cs + i;
    VecI a0 = *reinterpret_cast<const VecIu*>(c), a1 = *reinterpret_cast<const VecIu*>(c + V);
    for (int j = 1; j < k; ++j) {
      a0 += *reinterpret_cast<const VecIu*>(c + j * CH);
      a1 += *reinterpret_cast<const VecIu*>(c + j * CH + V);
    }
    std::memcpy(hs + i, &a0, sizeof a0);
    std::memcpy(hs + i + V, &a1, sizeof a1);
  }
  for (; i < n; ++i) {
    A a = cs[i];
    for (int j = 1; j < k; ++j) a = A(a + cs[i + j * CH]);
    hs[i] = a;
  }
}

// Running-sum box filter of one tile (columns x0..x1, rows y0..y1), O(1) per
// pixel whatever K. `cs` holds, for every column the tile's windows reach (K - 1
// more than the tile), the sum of the K rows of the current window: moving
// down a row adds the entering row and subtracts the leaving one. A row's
// output is then a running sum along cs (into `hs`). Sums are integers for
// u8/u16 (exact; 16-bit lanes for u8 with an odd K <= 15, where every window
// sum fits), double for f32.
template <class T, class A, int CH>
TANDEM_CPU_CLONES void box_tile(const BoxJob<T>& job, int x0, int x1, int y0, int y1, A* cs, A* hs) {
  const int height = int(job.src->height()), width = int(job.src->width());
  const int k = job.k, before = kern::box_before(k), after = kern::box_after(k);
  const kern::BorderMode mode = job.mode;
  const double area = double(k) * double(k);
  const int xb = x0 - before, xe = x1 + after;               // columns of cs
  const int ib = std::max(xb, 0), ie = std::min(xe, width);  // their in-image part
  A* cin = cs + std::size_t(ib - xb) * CH;
  const int m = (ie - ib) * CH;
  const auto row = [&](int y) -> const T* {
    const int sy = kern::border_index(y, height, mode);
    return sy < 0 ? job.const_row : job.src->template row<const T>(sy);
  };
  // Columns outside the image follow the column they map to, or in constant
  // mode hold K * cval for good.
  const auto update_outside = [&](const T* add, const T* sub) {
    const auto one = [&](int x) {
      const int sx = kern::border_index(x, width, mode);
      if (sx < 0) return;
      A* c = cs + std::size_t(x - xb) * CH;
      for (int j = 0; j < CH; ++j) c[j] += A(add[sx * CH + j]) - (sub ? A(sub[sx * CH + j]) : A(0));
    };
    for (int x = xb; x < ib; ++x) one(x);
    for (int x = ie; x < xe; ++x) one(x);
  };
  // The first window of the strip.
  const int n_cs = (xe - xb) * CH;
  const A outside = mode == kern::BorderMode::constant ? A(job.cval) * A(k) : A(0);
  for (int i = 0; i < n_cs; ++i) cs[i] = outside;
  for (int i = 0; i < m; ++i) cin[i] = A(0);
  for (int j = 0; j < k; ++j) {
    nbh::add_row(cin, row(y0 - before + j) + std::size_t(ib) * CH, m);
    update_outside(row(y0 - before + j), nullptr);
  }
  for (int y = y0; y < y1; ++y) {
    // The row entering two rows from now: a new page of the image every row,
    // which the hardware prefetchers do not run ahead into. Its lines are
    // requested (into L2) a chunk at a time while this row's update runs, so
    // the requests do not pile up in the line-fill buffers.
    const char* ahead = nullptr;
    if (const int sy = kern::border_index(y + after + 2, height, mode); sy >= 0 && m > 0)
      ahead = reinterpret_cast<const char*>(job.src->template row<const T>(sy) + std::size_t(ib) * CH);
    const auto prefetch = [&](int i0, int i1) {
      if (!ahead) return;
      const std::size_t b0 = std::size_t(i0) * sizeof(T), b1 = std::size_t(i1) * sizeof(T);
      for (std::size_t b = b0; b < b1; b += 64) __builtin_prefetch(ahead + b, 0, 1);
      if (i1 == m) __builtin_prefetch(ahead + b1 - 1, 0, 1);
    };
    if (y > y0) {
      const T* add = row(y + after) + std::size_t(ib) * CH;
      const T* sub = row(y - before - 1) + std::size_t(ib) * CH;
      constexpr int kChunk = 512;
      for (int i = 0; i < m; i += kChunk) {
        const int e = std::min(m, i + kChunk);
        prefetch(i, e);
        nbh::add_sub_row(cin + i, add + i, sub + i, e - i);
      }
      update_outside(row(y + after), row(y - before - 1));
    } else {
      prefetch(0, m);
    }
    if constexpr (std::is_same_v<A, std::int32_t> || std::is_same_v<A, std::uint16_t>) {
      if (k <= kDirectMaxK)
        direct_sums<CH>(hs, cs, k, x1 - x0);
      else
        running_sums<CH>(hs, cs, k, x1 - x0);
    } else {
      running_sums<CH>(hs, cs, k, x1 - x0);
    }
    nbh::store_mean<T, A>(job.dst->template row<T>(y) + std::size_t(x0) * CH, hs, (x1 - x0) * CH, area);
  }
}

// Column blocks x strips, one tile per OpenMP task.
template <class T, class A>
Status box_cpu(const View& src, const View& dst, int k, kern::BorderMode mode, T cval, int threads) {
  const int height = int(src.height()), width = int(src.width()), ch = int(src.channels());
  const nbh::TilePlan plan = nbh::plan_tiles(height, width, ch, 2, 2 * k, threads);
  const int nt = std::max(1, std::min(threads, plan.tiles()));
  const std::size_t cs_len = nbh::pad16(std::size_t(plan.tw + k - 1) * ch);
  const std::size_t hs_len = nbh::pad16(std::size_t(plan.tw) * ch);
  nbh::Scratch<A> scratch;
  TANDEM_TRY(scratch.allocate(nt, cs_len + hs_len));
  nbh::Scratch<T> const_row;
  if (mode == kern::BorderMode::constant) {
    TANDEM_TRY(const_row.allocate(1, std::size_t(width) * ch));
    std::fill_n(const_row.slice(0), std::size_t(width) * ch, cval);
  }
  const BoxJob<T> job{&src, &dst, k, mode, cval, const_row.slice(0)};

  const auto tile = [&](int t, A* cs) {
    const int x0 = (t % plan.ntx) * plan.tw, y0 = (t / plan.ntx) * plan.th;
    const int x1 = std::min(width, x0 + plan.tw), y1 = std::min(height, y0 + plan.th);
    if (ch == 1) return box_tile<T, A, 1>(job, x0, x1, y0, y1, cs, cs + cs_len);
    if (ch == 3) return box_tile<T, A, 3>(job, x0, x1, y0, y1, cs, cs + cs_len);
    return box_tile<T, A, 4>(job, x0, x1, y0, y1, cs, cs + cs_len);
  };

#pragma omp parallel num_threads(nt)
  {
    A* cs = scratch.slice(omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < plan.tiles(); ++t) tile(t, cs);
  }
  return {};
}

// After the checks: the op itself, on the host.
Status box_on_cpu(const View& src, const View& dst, const BoxParams& p, const Exec& exec) {
  const kern::BorderMode mode = nbh::to_mode(p.border);
  const int threads = cpu_threads(exec);
  const int k = p.size;
  switch (src.dtype) {
    case DType::u8:
      // Odd K <= 15: K*K*255 < 2^16 (twice the lanes), and no mean is a tie (see store_mean).
      if (k % 2 == 1 && k <= 15)
        return box_cpu<std::uint8_t, std::uint16_t>(src, dst, k, mode, kern::saturate<std::uint8_t>(p.value), threads);
      // K*K*255 < 2^31 for every K up to kBoxMaxSize.
      return box_cpu<std::uint8_t, std::int32_t>(src, dst, k, mode, kern::saturate<std::uint8_t>(p.value), threads);
    case DType::u16:
      if (std::int64_t(k) * k * 65535 < (std::int64_t(1) << 31))
        return box_cpu<std::uint16_t, std::int32_t>(src, dst, k, mode, kern::saturate<std::uint16_t>(p.value), threads);
      return box_cpu<std::uint16_t, std::int64_t>(src, dst, k, mode, kern::saturate<std::uint16_t>(p.value), threads);
    default:
      return box_cpu<float, double>(src, dst, k, mode, kern::saturate<float>(p.value), threads);
  }
}

const OpSpec& spec() {
  static const OpSpec s = detail::make_op<BoxParams>({
      .name = "box",
      .kind = OpKind::image,
      .doc = "normalised box filter: the mean of each K x K window (every channel independently)",
      .semantics = "cv2.blur(img, (K,K), borderType=border): anchor K/2 (also for even K); integer results exact "
                   "(window sum / K^2 rounded half to even)",
      .params = {detail::field(&BoxParams::size, "size",
                               "K, the window side; the window of pixel x spans x - K/2 .. x - K/2 + K - 1")
                     .in(1, kBoxMaxSize),
                 detail::border_field(&BoxParams::border), detail::value_field(&BoxParams::value)},
      .layouts = detail::standard_image_layouts(),
      .run = [](const View& src, Tensor& dst, const BoxParams& p, const Exec& exec) { return box(src, dst, p, exec); },
  });
  return s;
}

}  // namespace

Status box(const View& src, const View& dst, const BoxParams& p, const Exec& exec) {
  TANDEM_TRY(nbh::check_io(spec(), src, dst, exec));
  TANDEM_TRY(detail::check_params(spec(), p));
  return detail::on_device("box", src, dst, p, exec, box_on_cpu,
                           [&](auto stream) { return cuda::box(src, dst, p, stream); });
}

Status box(const View& src, Tensor& dst, const BoxParams& p, const Exec& exec) {
  TANDEM_TRY(nbh::check_src(spec(), src, exec));
  TANDEM_TRY(detail::check_params(spec(), p));
  return detail::into_new(
      dst, [&](Tensor& t) { return Tensor::create_like(src, exec.device, t); },
      [&](const View& out) { return box(src, out, p, exec); });
}

TANDEM_OP_SPECS(box, &spec())

}  // namespace tandem
