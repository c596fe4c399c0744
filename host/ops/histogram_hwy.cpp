// histogram's binning in Highway: compiled once per SIMD target (foreach_target.h), the best
// target the CPU has is picked at run time (HWY_DYNAMIC_DISPATCH). kern::HistBins::bin_with
// on f64 lanes, width-agnostic: the first guess (x - first) * norm clamped to [0, n - 1] and
// truncated, NumPy's one-step correction against edges i and i + 1, computed in the lanes as
// edge<T> computes them (Mul then Add, never fused: the GPU's __dmul_rn/__dadd_rn; for f32
// input rounded to f32), -1 outside [lo, hi] and for NaN. The tail runs the same arithmetic
// on one-lane vectors.
#include "host/ops/histogram_hwy.hpp"

#include <type_traits>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/histogram_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tandem::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// bin + 1 (0: not counted) of the lanes of in[0, Lanes(dd)) as f64.
template <class T, class DD>
HWY_INLINE void bin_lanes(DD dd, const T* HWY_RESTRICT in, std::int32_t* HWY_RESTRICT out, const kern::HistBins& b) {
  const hn::Rebind<T, DD> dt;
  const auto v = hn::LoadU(dt, in);
  hn::Vec<DD> x;
  if constexpr (std::is_same_v<T, double>) x = v;
  else if constexpr (std::is_same_v<T, std::uint16_t>) x = hn::PromoteTo(dd, hn::PromoteTo(hn::Rebind<std::int32_t, DD>(), v));
  else x = hn::PromoteTo(dd, v);  // f32, i32: exact
  const auto zero = hn::Zero(dd), one = hn::Set(dd, 1.0);
  const auto top = hn::Set(dd, static_cast<double>(b.n - 1));
  const auto f = hn::Mul(hn::Sub(x, hn::Set(dd, b.first)), hn::Set(dd, b.norm));
  auto g = hn::IfThenElse(hn::Gt(f, zero), f, zero);  // NaN -> 0
  g = hn::IfThenElse(hn::Lt(g, top), g, top);
  const auto i = hn::Floor(g);  // g >= 0: the truncation of int(g)
  // edge<T>(j) for j <= n - 1, and for j + 1 = n the last edge.
  auto edge = [&](hn::Vec<DD> j) {
    hn::Vec<DD> e;
    if (b.step != 0) e = hn::Add(hn::Mul(j, hn::Set(dd, b.step)), hn::Set(dd, b.first));
    else e = hn::Add(hn::Mul(hn::Div(j, hn::Set(dd, static_cast<double>(b.n))), hn::Set(dd, b.delta)), hn::Set(dd, b.first));
    return e;
  };
  auto ei = edge(i);
  const auto i1 = hn::Add(i, one);
  auto ei1 = hn::IfThenElse(hn::Gt(i1, top), hn::Set(dd, b.last), edge(i1));
  if constexpr (std::is_same_v<T, float>) {
    const hn::Rebind<float, DD> df;
    ei = hn::PromoteTo(dd, hn::DemoteTo(df, ei));
    ei1 = hn::PromoteTo(dd, hn::DemoteTo(df, ei1));
  }
  const auto below = hn::Lt(x, ei);
  const auto above = hn::And(hn::Ge(x, ei1), hn::Lt(i, top));
  const auto k = hn::IfThenElse(below, hn::Sub(i, one), hn::IfThenElse(above, i1, i));
  const auto inside = hn::And(hn::Ge(x, hn::Set(dd, b.lo)), hn::Le(x, hn::Set(dd, b.hi)));
  const auto r = hn::IfThenElseZero(inside, hn::Add(k, one));
  const hn::Rebind<std::int32_t, DD> di;
  hn::StoreU(hn::DemoteTo(di, r), di, out);
}

template <class T>
void bins(const T* HWY_RESTRICT in, int m, std::int32_t* HWY_RESTRICT out, const kern::HistBins& b) {
  const hn::ScalableTag<double> dd;
  const int L = int(hn::Lanes(dd));
  int j = 0;
  for (; j + L <= m; j += L) bin_lanes(dd, in + j, out + j, b);
  const hn::CappedTag<double, 1> d1;
  for (; j < m; ++j) bin_lanes(d1, in + j, out + j, b);
}

void BinsU16(const std::uint16_t* in, int m, std::int32_t* out, const kern::HistBins& b) { bins(in, m, out, b); }
void BinsI32(const std::int32_t* in, int m, std::int32_t* out, const kern::HistBins& b) { bins(in, m, out, b); }
void BinsF32(const float* in, int m, std::int32_t* out, const kern::HistBins& b) { bins(in, m, out, b); }
void BinsF64(const double* in, int m, std::int32_t* out, const kern::HistBins& b) { bins(in, m, out, b); }

}  // namespace tandem::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::simd {
HWY_EXPORT(BinsU16);
HWY_EXPORT(BinsI32);
HWY_EXPORT(BinsF32);
HWY_EXPORT(BinsF64);

void histogram_bins(const std::uint16_t* in, int m, std::int32_t* out, const kern::HistBins& b) {
  HWY_DYNAMIC_DISPATCH(BinsU16)(in, m, out, b);
}
void histogram_bins(const std::int32_t* in, int m, std::int32_t* out, const kern::HistBins& b) {
  HWY_DYNAMIC_DISPATCH(BinsI32)(in, m, out, b);
}
void histogram_bins(const float* in, int m, std::int32_t* out, const kern::HistBins& b) {
  HWY_DYNAMIC_DISPATCH(BinsF32)(in, m, out, b);
}
void histogram_bins(const double* in, int m, std::int32_t* out, const kern::HistBins& b) {
  HWY_DYNAMIC_DISPATCH(BinsF64)(in, m, out, b);
}
}  // namespace tandem::simd
#endif
