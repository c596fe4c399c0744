// sobel's vector code (Highway): the two passes over a row, compiled once per
// SIMD target, and the OpenMP loop over rows that dispatches them. The
// arithmetic is kern::sobel_pixel's, step by step and unfused (no MulAdd), so
// the result is the CUDA kernel's bit for bit.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/sobel_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "host/ops/neighbourhood-inl.h"
#include "host/ops/neighbourhood.hpp"
#include "kernels/sobel.cuh"

#ifndef TANDEM_SOBEL_HWY_ONCE_
#define TANDEM_SOBEL_HWY_ONCE_
namespace tandem::nbh {
// What every row of one sobel call shares.
struct SobelJob {
  const View* src;
  const View* dst;
  kern::BorderMode mode;
  float cval;  // the border value as the input dtype holds it
  int xl, xr;  // the source columns standing in for -1 and W (-1: the constant border)
};
}  // namespace tandem::nbh
#endif

HWY_BEFORE_NAMESPACE();
namespace tandem::nbh::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Elements [i, i + Lanes(d)) of the vertical pass: [1 2 1] sums and differences.
template <class T, class D>
HWY_INLINE void VerticalBlock(D d, const T* HWY_RESTRICT r0, const T* HWY_RESTRICT r1, const T* HWY_RESTRICT r2,
                              float* HWY_RESTRICT vs, float* HWY_RESTRICT vd, std::size_t i) {
  const auto t = LoadFloat(d, r0 + i), m = LoadFloat(d, r1 + i), b = LoadFloat(d, r2 + i);
  hn::StoreU(hn::Add(hn::Add(t, hn::Add(m, m)), b), d, vs + i);  // kern::smooth3 (2m = m + m exactly)
  hn::StoreU(hn::Sub(b, t), d, vd + i);
}

// Vertical pass over n = W * C interleaved elements.
template <class T>
HWY_INLINE void Vertical(const T* HWY_RESTRICT r0, const T* HWY_RESTRICT r1, const T* HWY_RESTRICT r2,
                         float* HWY_RESTRICT vs, float* HWY_RESTRICT vd, int n) {
  ForEachVector(n, [&](auto d, std::size_t i) { VerticalBlock(d, r0, r1, r2, vs, vd, i); });
}

// Elements [i, i + Lanes(d)) of the horizontal pass: kern::sobel_magnitude of
// gx = vs(x+1) - vs(x-1) and gy = smooth3(vd(x-1), vd(x), vd(x+1)).
template <class T, int C, class D>
HWY_INLINE void HorizontalBlock(D d, const float* HWY_RESTRICT vs, const float* HWY_RESTRICT vd,
                                T* HWY_RESTRICT out, std::size_t i) {
  const auto gx = hn::Sub(hn::LoadU(d, vs + i + 2 * C), hn::LoadU(d, vs + i));
  const auto c = hn::LoadU(d, vd + i + C);
  const auto gy = hn::Add(hn::Add(hn::LoadU(d, vd + i), hn::Add(c, c)), hn::LoadU(d, vd + i + 2 * C));
  const auto m = hn::Sqrt(hn::Add(hn::Mul(gx, gx), hn::Mul(gy, gy)));
  if constexpr (std::is_floating_point_v<T>) {
    hn::StoreU(m, d, out + i);
  } else {
    StoreRoundedTo(d, hn::Min(m, hn::Set(d, float(std::numeric_limits<T>::max()))), out + i);
  }
}

// Horizontal pass: vs / vd hold columns -1..W (C floats per column).
template <class T, int C>
HWY_INLINE void Horizontal(const float* HWY_RESTRICT vs, const float* HWY_RESTRICT vd, T* HWY_RESTRICT out, int n) {
  ForEachVector(n, [&](auto d, std::size_t i) { HorizontalBlock<T, C>(d, vs, vd, out, i); });
}

// Elements per vertical / horizontal step: the slices of vs and vd in flight
// stay in L1 however wide the row.
constexpr int kChunk = 2048;

// One output row from its three source rows (border rows already resolved);
// xl / xr are the source columns standing in for -1 and W (-1: the constant
// border). vs / vd hold columns -1..W; the horizontal pass trails the vertical
// one by a chunk.
template <class T, int C>
HWY_INLINE void SobelRow(const T* r0, const T* r1, const T* r2, T* out, int W, int xl, int xr, float cval, float* vs,
               float* vd) {
  const int n = W * C;
  float* vsi = vs + C;
  float* vdi = vd + C;
  int done = 0;  // outputs [0, done) are written
  for (int i0 = 0; i0 < n; i0 += kChunk) {
    const int i1 = std::min(n, i0 + kChunk);
    Vertical<T>(r0 + i0, r1 + i0, r2 + i0, vsi + i0, vdi + i0, i1 - i0);
    if (i0 == 0)  // column -1 copies column 0 or 1, both in the first chunk
      for (int c = 0; c < C; ++c) {
        vs[c] = xl < 0 ? kern::smooth3(cval, cval, cval) : vsi[xl * C + c];
        vd[c] = xl < 0 ? cval - cval : vdi[xl * C + c];
      }
    if (i1 < n && i1 - C > done) {  // output i needs vsi up to i + C
      Horizontal<T, C>(vs + done, vd + done, out + done, i1 - C - done);
      done = i1 - C;
    }
  }
  for (int c = 0; c < C; ++c) {
    vsi[n + c] = xr < 0 ? kern::smooth3(cval, cval, cval) : vsi[xr * C + c];
    vdi[n + c] = xr < 0 ? cval - cval : vdi[xr * C + c];
  }
  Horizontal<T, C>(vs + done, vd + done, out + done, n - done);
}

// Rows y0 .. y1 of the output. `scratch` holds vs and vd for columns -1..W
// and a row of the constant border.
template <class T, int C>
void SobelRows(const SobelJob& j, int y0, int y1, float* scratch) {
  const View& src = *j.src;
  const int H = int(src.height()), W = int(src.width());
  float* vs = scratch;
  float* vd = vs + (W + 2) * C;
  T* crow = reinterpret_cast<T*>(vd + (W + 2) * C);
  std::fill_n(crow, W * C, T(j.cval));
  const auto row = [&](int y) -> const T* {
    const int m = kern::border_index(y, H, j.mode);
    return m < 0 ? crow : src.row<const T>(m);
  };
  for (int y = y0; y < y1; ++y)
    SobelRow<T, C>(row(y - 1), row(y), row(y + 1), j.dst->row<T>(y), W, j.xl, j.xr, j.cval, vs, vd);
}

template <class T>
void SobelRowsC(const SobelJob& j, int y0, int y1, float* scratch) {
  const int c = int(j.src->channels());
  if (c == 1) return SobelRows<T, 1>(j, y0, y1, scratch);
  if (c == 3) return SobelRows<T, 3>(j, y0, y1, scratch);
  return SobelRows<T, 4>(j, y0, y1, scratch);
}
void SobelRowsU8(const SobelJob& j, int y0, int y1, float* scratch) { SobelRowsC<std::uint8_t>(j, y0, y1, scratch); }
void SobelRowsU16(const SobelJob& j, int y0, int y1, float* scratch) { SobelRowsC<std::uint16_t>(j, y0, y1, scratch); }
void SobelRowsF32(const SobelJob& j, int y0, int y1, float* scratch) { SobelRowsC<float>(j, y0, y1, scratch); }

}  // namespace tandem::nbh::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::nbh {

HWY_EXPORT(SobelRowsU8);
HWY_EXPORT(SobelRowsU16);
HWY_EXPORT(SobelRowsF32);

Status sobel_cpu(const View& src, const View& dst, kern::BorderMode mode, float cval, int threads) {
  TANDEM_TRY(detail::simd_ready());
  const int H = int(src.height()), W = int(src.width()), C = int(src.channels());
  const SobelJob job{&src, &dst, mode, cval, kern::border_index(-1, W, mode), kern::border_index(W, W, mode)};
  const int nt = std::max(1, std::min(threads, H));
  // Per thread: vs and vd for columns -1..W, and a row of the constant border.
  const std::size_t floats = 2 * std::size_t(W + 2) * C + (std::size_t(W) * C * src.elem_size() + 3) / 4;
  Scratch<float> scratch;
  TANDEM_TRY(scratch.allocate(nt, floats));
  const auto rows = src.dtype == DType::u8    ? &HWY_DYNAMIC_DISPATCH(SobelRowsU8)
                    : src.dtype == DType::u16 ? &HWY_DYNAMIC_DISPATCH(SobelRowsU16)
                                              : &HWY_DYNAMIC_DISPATCH(SobelRowsF32);
#pragma omp parallel num_threads(nt)
  {
    // Equal bands of rows, as schedule(static) would hand them out.
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    rows(job, int(std::int64_t(H) * t / n), int(std::int64_t(H) * (t + 1) / n), scratch.slice(t));
  }
  return {};
}

}  // namespace tandem::nbh
#endif  // HWY_ONCE
