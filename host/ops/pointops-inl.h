// Per-target helpers of the per-element ops' vector code (invert_hwy.cpp, threshold_hwy.cpp):
// included once per SIMD target after hwy/highway.h, as Highway's -inl.h headers are.
#if defined(TANDEM_POINTOPS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef TANDEM_POINTOPS_INL_H_
#undef TANDEM_POINTOPS_INL_H_
#else
#define TANDEM_POINTOPS_INL_H_
#endif

#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <cstdint>

HWY_BEFORE_NAMESPACE();
namespace tandem::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// d[i] = vec(s[i]) for i < n, a vector at a time, the elements before the first full vector
/// and after the last one by one(s[i]) (the same rule, scalar). With `stream`, the vectors are
/// written with non-temporal stores (hn::Stream, at addresses aligned to the vector), which
/// skip reading each destination line first: for an output larger than the cache, that is
/// a third of the memory traffic. s may equal d.
template <class T, class Vec, class One>
HWY_INLINE void map_elements(const T* s, T* d, std::int64_t n, bool stream, Vec&& vec, One&& one) {
  const hn::ScalableTag<T> dt;
  const std::int64_t step = std::int64_t(hn::Lanes(dt));
  std::int64_t i = 0;
  if (stream) {
    const std::uintptr_t bytes = std::uintptr_t(step) * sizeof(T);
    for (; i < n && reinterpret_cast<std::uintptr_t>(d + i) % bytes != 0; ++i) d[i] = one(s[i]);
    for (; i + step <= n; i += step) hn::Stream(vec(dt, hn::LoadU(dt, s + i)), dt, d + i);
    hwy::FlushStream();  // the stores are seen before the caller's threads join
  } else {
    for (; i + step <= n; i += step) hn::StoreU(vec(dt, hn::LoadU(dt, s + i)), dt, d + i);
  }
  for (; i < n; ++i) d[i] = one(s[i]);
}

}  // namespace tandem::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // TANDEM_POINTOPS_INL_H_
