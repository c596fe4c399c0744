// box's vector code: the running-sum box filter of one tile, compiled once per
// SIMD target (Highway), and the OpenMP loop over tiles that dispatches it.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/box_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <bit>

#include "host/ops/neighbourhood.hpp"
#include "kernels/box.cuh"

#ifndef TANDEM_BOX_HWY_ONCE_
#define TANDEM_BOX_HWY_ONCE_
namespace tandem::nbh {
template <class T>
struct BoxJob {
  const View* src;
  const View* dst;
  int k;
  kern::BorderMode mode;
  T cval;
  const T* const_row;  // a row of cval: what rows outside the image read in constant mode
};

}  // namespace tandem::nbh
#endif

HWY_BEFORE_NAMESPACE();
namespace tandem::nbh::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Horizontal window sums along one row of column sums: hs[p] = sum of cs over
// pixels p .. p+k-1. The differences between neighbouring windows are taken in
// one vectorised pass, then summed up in registers (one chain per channel, a
// single add long; CH is a constant so the channels' chains interleave).
template <int CH, class A>
HWY_INLINE void RunningSums(A* HWY_RESTRICT hs, const A* HWY_RESTRICT cs, int k, int npx) {
  const int n = npx * CH;
  const A* HWY_RESTRICT enter = cs + std::size_t(k - 1) * CH;
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

// The same window sums for small K and integer sums, summed directly: K - 1
// vector adds per two vectors of outputs beat the running sum's serial chain
// of one add per pixel (integer sums, so the result is the same).
constexpr int kDirectMaxK = 24;
template <int CH, class A>
HWY_INLINE void DirectSums(A* HWY_RESTRICT hs, const A* HWY_RESTRICT cs, int k, int npx) {
  const hn::ScalableTag<A> d;
  const int N = int(hn::Lanes(d));
  const int n = npx * CH;
  int i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const A* HWY_RESTRICT c = cs + i;
    auto a0 = hn::LoadU(d, c), a1 = hn::LoadU(d, c + N);
    for (int j = 1; j < k; ++j) {
      a0 = hn::Add(a0, hn::LoadU(d, c + j * CH));
      a1 = hn::Add(a1, hn::LoadU(d, c + j * CH + N));
    }
    hn::StoreU(a0, d, hs + i);
    hn::StoreU(a1, d, hs + i + N);
  }
  for (; i < n; ++i) {
    A a = cs[i];
    for (int j = 1; j < k; ++j) a = A(a + cs[i + j * CH]);
    hs[i] = a;
  }
}

/// acc[i] += a[i]  (widening)
template <class A, class T>
HWY_INLINE void AddRow(A* HWY_RESTRICT acc, const T* HWY_RESTRICT a, int n) {
  for (int i = 0; i < n; ++i) acc[i] += A(a[i]);
}
/// acc[i] += a[i] - b[i]  (widening)
template <class A, class T>
HWY_INLINE void AddSubRow(A* HWY_RESTRICT acc, const T* HWY_RESTRICT a, const T* HWY_RESTRICT b, int n) {
  for (int i = 0; i < n; ++i) acc[i] += A(a[i]) - A(b[i]);
}

/// Stores exact window sums divided by `area` as T (round half to even):
/// kern::box_finish<T> for sums in [0, area * max of T], vectorised for 32-bit
/// sums. Division is slow, so for area <= 2^19 the quotient is s * (1/area),
/// then snapped to a multiple of 2^-20 (adding and subtracting 2^32): a true
/// tie m + 1/2 is within 1e-11 of the product and snaps onto it exactly, while
/// any other quotient is at least 1/(2 area) >= 2^-20 from a tie and stays on
/// its side; adding 2^52 then rounds half to even.
template <class T, class A>
HWY_INLINE void StoreMean(T* HWY_RESTRICT out, const A* HWY_RESTRICT sum, int n, double area) {
  if constexpr (std::is_same_v<A, std::uint16_t>) {
    // 16-bit sums (u8 with an odd K <= 15, area odd): no quotient is a tie, and
    // each is at least 1/(2 area) >= 1/450 from one, far more than the float
    // product's error (< 256 * 2^-23), so rounding s * (1/area) in float is exact.
    const float inv = float(1.0 / area);
    for (int i = 0; i < n; ++i) out[i] = static_cast<T>(std::bit_cast<std::uint32_t>(float(sum[i]) * inv + 0x1p23f));
  } else if constexpr (std::is_floating_point_v<T>) {
    for (int i = 0; i < n; ++i) out[i] = static_cast<T>(double(sum[i]) / area);
  } else if (area <= 0x1p19) {
    const double inv = 1.0 / area;
    for (int i = 0; i < n; ++i) {
      const double q = (double(sum[i]) * inv + 0x1p32) - 0x1p32;
      out[i] = static_cast<T>(std::bit_cast<std::uint64_t>(q + 0x1p52));
    }
  } else {
    for (int i = 0; i < n; ++i) out[i] = static_cast<T>(std::bit_cast<std::uint64_t>(double(sum[i]) / area + 0x1p52));
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
void BoxTile(const BoxJob<T>& job, int x0, int x1, int y0, int y1, A* cs, A* hs) {
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
    AddRow(cin, row(y0 - before + j) + std::size_t(ib) * CH, m);
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
        AddSubRow(cin + i, add + i, sub + i, e - i);
      }
      update_outside(row(y + after), row(y - before - 1));
    } else {
      prefetch(0, m);
    }
    if constexpr (std::is_same_v<A, std::int32_t> || std::is_same_v<A, std::uint16_t>) {
      if (k <= kDirectMaxK)
        DirectSums<CH>(hs, cs, k, x1 - x0);
      else
        RunningSums<CH>(hs, cs, k, x1 - x0);
    } else {
      RunningSums<CH>(hs, cs, k, x1 - x0);
    }
    StoreMean<T, A>(job.dst->template row<T>(y) + std::size_t(x0) * CH, hs, (x1 - x0) * CH, area);
  }
}

template <class T, class A>
void BoxTileCh(const BoxJob<T>& job, int x0, int x1, int y0, int y1, A* cs, A* hs) {
  const int ch = int(job.src->channels());
  if (ch == 1) return BoxTile<T, A, 1>(job, x0, x1, y0, y1, cs, hs);
  if (ch == 3) return BoxTile<T, A, 3>(job, x0, x1, y0, y1, cs, hs);
  return BoxTile<T, A, 4>(job, x0, x1, y0, y1, cs, hs);
}

// The exported instances: (input, sum) types as box_cpu picks them.
void BoxU8U16(const BoxJob<std::uint8_t>& job, int x0, int x1, int y0, int y1, std::uint16_t* cs, std::uint16_t* hs) {
  BoxTileCh(job, x0, x1, y0, y1, cs, hs);
}
void BoxU8I32(const BoxJob<std::uint8_t>& job, int x0, int x1, int y0, int y1, std::int32_t* cs, std::int32_t* hs) {
  BoxTileCh(job, x0, x1, y0, y1, cs, hs);
}
void BoxU16I32(const BoxJob<std::uint16_t>& job, int x0, int x1, int y0, int y1, std::int32_t* cs, std::int32_t* hs) {
  BoxTileCh(job, x0, x1, y0, y1, cs, hs);
}
void BoxU16I64(const BoxJob<std::uint16_t>& job, int x0, int x1, int y0, int y1, std::int64_t* cs, std::int64_t* hs) {
  BoxTileCh(job, x0, x1, y0, y1, cs, hs);
}
void BoxF32F64(const BoxJob<float>& job, int x0, int x1, int y0, int y1, double* cs, double* hs) {
  BoxTileCh(job, x0, x1, y0, y1, cs, hs);
}

void StoreMeanU16(std::uint16_t* out, const std::int32_t* sums, int n, double area) {
  StoreMean<std::uint16_t, std::int32_t>(out, sums, n, area);
}

}  // namespace tandem::nbh::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::nbh {

HWY_EXPORT(BoxU8U16);
HWY_EXPORT(BoxU8I32);
HWY_EXPORT(BoxU16I32);
HWY_EXPORT(BoxU16I64);
HWY_EXPORT(BoxF32F64);
HWY_EXPORT(StoreMeanU16);

void store_mean(std::uint16_t* out, const std::int32_t* sums, int n, double area) {
  HWY_DYNAMIC_DISPATCH(StoreMeanU16)(out, sums, n, area);
}

namespace {

// Column blocks x strips, one tile per OpenMP task.
template <class T, class A, class Tile>
Status box_typed(const View& src, const View& dst, int k, kern::BorderMode mode, T cval, int threads, Tile* tile) {
  const int height = int(src.height()), width = int(src.width()), ch = int(src.channels());
  const TilePlan plan = plan_tiles(height, width, ch, 2, 2 * k, threads);
  const int nt = std::max(1, std::min(threads, plan.tiles()));
  const std::size_t cs_len = pad16(std::size_t(plan.tw + k - 1) * ch);
  const std::size_t hs_len = pad16(std::size_t(plan.tw) * ch);
  Scratch<A> scratch;
  TANDEM_TRY(scratch.allocate(nt, cs_len + hs_len));
  Scratch<T> const_row;
  if (mode == kern::BorderMode::constant) {
    TANDEM_TRY(const_row.allocate(1, std::size_t(width) * ch));
    std::fill_n(const_row.slice(0), std::size_t(width) * ch, cval);
  }
  const BoxJob<T> job{&src, &dst, k, mode, cval, const_row.slice(0)};

  const auto one = [&](int t, A* cs) {
    const int x0 = (t % plan.ntx) * plan.tw, y0 = (t / plan.ntx) * plan.th;
    tile(job, x0, std::min(width, x0 + plan.tw), y0, std::min(height, y0 + plan.th), cs, cs + cs_len);
  };

#pragma omp parallel num_threads(nt)
  {
    A* cs = scratch.slice(omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < plan.tiles(); ++t) one(t, cs);
  }
  return {};
}

}  // namespace

Status box_cpu(const View& src, const View& dst, int k, kern::BorderMode mode, float cval, int threads) {
  TANDEM_TRY(detail::simd_ready());
  switch (src.dtype) {
    case DType::u8:
      // Odd K <= 15: K*K*255 < 2^16 (twice the lanes), and no mean is a tie (see StoreMean).
      if (k % 2 == 1 && k <= 15)
        return box_typed<std::uint8_t, std::uint16_t>(src, dst, k, mode, std::uint8_t(cval), threads,
                                                      &HWY_DYNAMIC_DISPATCH(BoxU8U16));
      // K*K*255 < 2^31 for every K up to kBoxMaxSize.
      return box_typed<std::uint8_t, std::int32_t>(src, dst, k, mode, std::uint8_t(cval), threads,
                                                   &HWY_DYNAMIC_DISPATCH(BoxU8I32));
    case DType::u16:
      if (std::int64_t(k) * k * 65535 < (std::int64_t(1) << 31))
        return box_typed<std::uint16_t, std::int32_t>(src, dst, k, mode, std::uint16_t(cval), threads,
                                                      &HWY_DYNAMIC_DISPATCH(BoxU16I32));
      return box_typed<std::uint16_t, std::int64_t>(src, dst, k, mode, std::uint16_t(cval), threads,
                                                    &HWY_DYNAMIC_DISPATCH(BoxU16I64));
    default:
      return box_typed<float, double>(src, dst, k, mode, float(cval), threads, &HWY_DYNAMIC_DISPATCH(BoxF32F64));
  }
}

}  // namespace tandem::nbh
#endif  // HWY_ONCE
