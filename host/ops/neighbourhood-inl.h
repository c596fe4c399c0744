// Vector pieces of the neighbourhood ops (gaussian, box, filter), written once
// with Highway and compiled for every SIMD target by the *_hwy.cpp files that
// include this after hwy/highway.h (the per-target include guard below lets
// foreach_target.h include it once per target).
//
// Width-agnostic: loops step by Lanes(d), register blocks are counted in
// vectors of the target, and tails run the same arithmetic on one-lane
// vectors, so every element of a row is computed the same way.
#if defined(TANDEM_HOST_OPS_NEIGHBOURHOOD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef TANDEM_HOST_OPS_NEIGHBOURHOOD_INL_H_
#undef TANDEM_HOST_OPS_NEIGHBOURHOOD_INL_H_
#else
#define TANDEM_HOST_OPS_NEIGHBOURHOOD_INL_H_
#endif

#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/common.cuh"

HWY_BEFORE_NAMESPACE();
namespace tandem::nbh::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// One-lane vectors of float: the tails of the row loops.
using Lane1 = hn::CappedTag<float, 1>;

/// The row loop of every kernel here: block4(d, i) for blocks of four vectors
/// of [0, n), then block1(d, i) for single vectors, then block1 on one-lane
/// vectors for the elements left, so each element sees the same arithmetic.
template <class Block4, class Block1>
HWY_INLINE void ForEachBlock(int n, const Block4& block4, const Block1& block1) {
  const hn::ScalableTag<float> d;
  const std::size_t N = hn::Lanes(d), e = std::size_t(n);
  std::size_t i = 0;
  for (; i + 4 * N <= e; i += 4 * N) block4(d, i);
  for (; i + N <= e; i += N) block1(d, i);
  for (; i < e; ++i) block1(Lane1(), i);
}

/// ForEachBlock without the four-vector blocks.
template <class Block1>
HWY_INLINE void ForEachVector(int n, const Block1& block1) {
  ForEachBlock(n, [&](auto d, std::size_t i) {
    for (std::size_t k = 0; k < 4; ++k) block1(d, i + k * hn::Lanes(d));
  }, block1);
}

/// Lanes(d) elements of T from p, as float (d: a tag of float).
template <class D, class T>
HWY_INLINE hn::Vec<D> LoadFloat(D d, const T* HWY_RESTRICT p) {
  if constexpr (std::is_same_v<T, float>) {
    return hn::LoadU(d, p);
  } else {
    const hn::Rebind<T, D> dt;
    const hn::RebindToSigned<D> di;
    return hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(dt, p)));
  }
}

/// o[i] = float(r[i]) for i in [0, n).
template <class T>
HWY_INLINE void ToFloat(float* HWY_RESTRICT o, const T* HWY_RESTRICT r, int n) {
  if constexpr (std::is_same_v<T, float>) {
    if (n > 0) std::memcpy(o, r, sizeof(float) * std::size_t(n));
  } else {
    const hn::ScalableTag<float> df;
    const int N = int(hn::Lanes(df));
    int i = 0;
    for (; i + N <= n; i += N) hn::StoreU(LoadFloat(df, r + i), df, o + i);
    for (; i < n; ++i) o[i] = float(r[i]);
  }
}

/// Fills out[] with pixels xb .. xe-1 of `row` (all channels, as float), pixels
/// outside [0, width) made up by the border rule; row == nullptr is a row
/// outside the image in constant mode (all `cval`).
template <class T>
HWY_INLINE void LoadRow(float* HWY_RESTRICT out, const T* HWY_RESTRICT row, int xb, int xe, int width, int ch,
                        kern::BorderMode mode, float cval) {
  const int n = (xe - xb) * ch;
  if (!row) {
    std::fill_n(out, n, cval);
    return;
  }
  const int ib = std::clamp(0, xb, xe), ie = std::clamp(width, xb, xe);  // in-image part [ib, ie)
  const auto outside = [&](int x) {
    const int sx = kern::border_index(x, width, mode);
    for (int c = 0; c < ch; ++c) out[(x - xb) * ch + c] = sx < 0 ? cval : float(row[sx * ch + c]);
  };
  for (int x = xb; x < ib; ++x) outside(x);
  ToFloat(out + (ib - xb) * ch, row + ib * ch, (ie - ib) * ch);
  for (int x = std::max(ie, xb); x < xe; ++x) outside(x);
}

// Register-blocked weighted sums: the loop over taps runs inside the loop
// over elements, so a block of outputs stays in vector registers and every
// tap costs its loads and one multiply-add, instead of a load and store of an
// accumulator row per tap. The multiply-adds are fused (MulAdd) where the
// target has FMA, as the CUDA kernels' sums are (nvcc contracts them).

/// Elements [i, i + 4 Lanes(d)) of SymmetricSum.
template <class D>
HWY_INLINE void SymmetricBlock4(D d, float* HWY_RESTRICT out, const float* const* HWY_RESTRICT p,
                                const float* HWY_RESTRICT w, int r, std::size_t i) {
  const std::size_t N = hn::Lanes(d);
  const float* HWY_RESTRICT c = p[r] + i;
  const auto wc = hn::Set(d, w[r]);
  auto a0 = hn::Mul(wc, hn::LoadU(d, c)), a1 = hn::Mul(wc, hn::LoadU(d, c + N));
  auto a2 = hn::Mul(wc, hn::LoadU(d, c + 2 * N)), a3 = hn::Mul(wc, hn::LoadU(d, c + 3 * N));
  for (int k = 0; k < r; ++k) {
    const float* HWY_RESTRICT lo = p[k] + i;
    const float* HWY_RESTRICT hi = p[2 * r - k] + i;
    const auto wk = hn::Set(d, w[k]);
    a0 = hn::MulAdd(wk, hn::Add(hn::LoadU(d, lo), hn::LoadU(d, hi)), a0);
    a1 = hn::MulAdd(wk, hn::Add(hn::LoadU(d, lo + N), hn::LoadU(d, hi + N)), a1);
    a2 = hn::MulAdd(wk, hn::Add(hn::LoadU(d, lo + 2 * N), hn::LoadU(d, hi + 2 * N)), a2);
    a3 = hn::MulAdd(wk, hn::Add(hn::LoadU(d, lo + 3 * N), hn::LoadU(d, hi + 3 * N)), a3);
  }
  hn::StoreU(a0, d, out + i);
  hn::StoreU(a1, d, out + i + N);
  hn::StoreU(a2, d, out + i + 2 * N);
  hn::StoreU(a3, d, out + i + 3 * N);
}

/// Elements [i, i + Lanes(d)) of SymmetricSum.
template <class D>
HWY_INLINE void SymmetricBlock1(D d, float* HWY_RESTRICT out, const float* const* HWY_RESTRICT p,
                                const float* HWY_RESTRICT w, int r, std::size_t i) {
  auto a = hn::Mul(hn::Set(d, w[r]), hn::LoadU(d, p[r] + i));
  for (int k = 0; k < r; ++k)
    a = hn::MulAdd(hn::Set(d, w[k]), hn::Add(hn::LoadU(d, p[k] + i), hn::LoadU(d, p[2 * r - k] + i)), a);
  hn::StoreU(a, d, out + i);
}

/// out[i] = w[r] * p[r][i] + sum_{k<r} w[k] * (p[k][i] + p[2r-k][i]) for i in [0, n):
/// the symmetric weighted sum of the 2r+1 rows p[0..2r].
HWY_INLINE void SymmetricSum(float* HWY_RESTRICT out, const float* const* HWY_RESTRICT p,
                             const float* HWY_RESTRICT w, int r, int n) {
  ForEachBlock(
      n, [&](auto d, std::size_t i) { SymmetricBlock4(d, out, p, w, r, i); },
      [&](auto d, std::size_t i) { SymmetricBlock1(d, out, p, w, r, i); });
}

/// Elements [i, i + 4 Lanes(d)) of WeightedSum.
template <class D>
HWY_INLINE void WeightedBlock4(D d, float* HWY_RESTRICT out, const float* const* HWY_RESTRICT p,
                               const float* HWY_RESTRICT w, int m, std::size_t i) {
  const std::size_t N = hn::Lanes(d);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
  for (int t = 0; t < m; ++t) {
    const float* HWY_RESTRICT q = p[t] + i;
    const auto wt = hn::Set(d, w[t]);
    a0 = hn::MulAdd(wt, hn::LoadU(d, q), a0);
    a1 = hn::MulAdd(wt, hn::LoadU(d, q + N), a1);
    a2 = hn::MulAdd(wt, hn::LoadU(d, q + 2 * N), a2);
    a3 = hn::MulAdd(wt, hn::LoadU(d, q + 3 * N), a3);
  }
  hn::StoreU(a0, d, out + i);
  hn::StoreU(a1, d, out + i + N);
  hn::StoreU(a2, d, out + i + 2 * N);
  hn::StoreU(a3, d, out + i + 3 * N);
}

/// Elements [i, i + Lanes(d)) of WeightedSum.
template <class D>
HWY_INLINE void WeightedBlock1(D d, float* HWY_RESTRICT out, const float* const* HWY_RESTRICT p,
                               const float* HWY_RESTRICT w, int m, std::size_t i) {
  auto a = hn::Zero(d);
  for (int t = 0; t < m; ++t) a = hn::MulAdd(hn::Set(d, w[t]), hn::LoadU(d, p[t] + i), a);
  hn::StoreU(a, d, out + i);
}

/// out[i] = sum_t w[t] * p[t][i] for i in [0, n) (t in [0, m), m >= 1), summed in order of t.
HWY_INLINE void WeightedSum(float* HWY_RESTRICT out, const float* const* HWY_RESTRICT p,
                            const float* HWY_RESTRICT w, int m, int n) {
  ForEachBlock(
      n, [&](auto d, std::size_t i) { WeightedBlock4(d, out, p, w, m, i); },
      [&](auto d, std::size_t i) { WeightedBlock1(d, out, p, w, m, i); });
}

/// Elements [i, i + Lanes(d)) of WeightedSumRows4: row k of the window feeds
/// output q with weight w[k - q] when 0 <= k - q < m.
template <class D>
HWY_INLINE void WeightedRows4Block(D d, float* const* HWY_RESTRICT out, const float* const* HWY_RESTRICT p,
                                   const float* HWY_RESTRICT w, int m, std::size_t i) {
  auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
  const int rows = m + 3, mid_end = std::max(m, 3);
  const auto tap = [&](int k, auto& a, int q) {
    if (k - q >= 0 && k - q < m) a = hn::MulAdd(hn::Set(d, w[k - q]), hn::LoadU(d, p[k] + i), a);
  };
  int k = 0;
  for (; k < 3; ++k) {  // the first rows: not every output uses them
    tap(k, a0, 0);
    tap(k, a1, 1);
    tap(k, a2, 2);
    tap(k, a3, 3);
  }
  for (; k < mid_end; ++k) {  // every output uses these
    const auto x = hn::LoadU(d, p[k] + i);
    a0 = hn::MulAdd(hn::Set(d, w[k]), x, a0);
    a1 = hn::MulAdd(hn::Set(d, w[k - 1]), x, a1);
    a2 = hn::MulAdd(hn::Set(d, w[k - 2]), x, a2);
    a3 = hn::MulAdd(hn::Set(d, w[k - 3]), x, a3);
  }
  for (; k < rows; ++k) {  // the last rows
    tap(k, a0, 0);
    tap(k, a1, 1);
    tap(k, a2, 2);
    tap(k, a3, 3);
  }
  hn::StoreU(a0, d, out[0] + i);
  hn::StoreU(a1, d, out[1] + i);
  hn::StoreU(a2, d, out[2] + i);
  hn::StoreU(a3, d, out[3] + i);
}

/// Four neighbouring rows of a vertical pass at once: out[q][i] = sum_{t<m}
/// w[t] * p[t+q][i] for q < 4 (p holds m + 3 rows), each summed in order of t
/// exactly as WeightedSum does, but every row is read once for all four outputs.
HWY_INLINE void WeightedSumRows4(float* const* HWY_RESTRICT out, const float* const* HWY_RESTRICT p,
                                 const float* HWY_RESTRICT w, int m, int n) {
  ForEachVector(n, [&](auto d, std::size_t i) { WeightedRows4Block(d, out, p, w, m, i); });
}

/// Stores v (d: a tag of float) at out as integer T, rounded half to even
/// (NearestInt); values outside T's range saturate, as long as they are
/// within int32's.
template <class D, class T>
HWY_INLINE void StoreRoundedTo(D d, hn::Vec<D> v, T* HWY_RESTRICT out) {
  const hn::Rebind<T, D> dt;
  hn::StoreU(hn::DemoteTo(dt, hn::NearestInt(v)), dt, out);
}

/// Elements [i, i + Lanes(d)) of StoreRounded.
template <class T, bool kClamp, class D>
HWY_INLINE void StoreRoundedBlock(D d, T* HWY_RESTRICT out, const float* HWY_RESTRICT in, std::size_t i) {
  auto v = hn::LoadU(d, in + i);
  if constexpr (kClamp) v = hn::Min(hn::Max(v, hn::Zero(d)), hn::Set(d, float(std::numeric_limits<T>::max())));
  StoreRoundedTo(d, v, out + i);
}

/// Stores float results as T, rounding half to even (kern::saturate<T> for
/// finite input). kClamp = false is for results known to lie in [0, max of T]
/// up to rounding noise below one half (the demotion saturates that noise).
template <class T, bool kClamp>
HWY_INLINE void StoreRounded(T* HWY_RESTRICT out, const float* HWY_RESTRICT in, int n) {
  if constexpr (std::is_floating_point_v<T>) {
    if (n > 0) std::memcpy(out, in, sizeof(float) * std::size_t(n));
  } else {
    ForEachVector(n, [&](auto d, std::size_t i) { StoreRoundedBlock<T, kClamp>(d, out, in, i); });
  }
}

}  // namespace tandem::nbh::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
