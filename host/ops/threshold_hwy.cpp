// threshold's row loop in Highway (see invert_hwy.cpp for the pattern). The comparison's
// mask is the result: all ones is 255 / 65535 for the integer types; f32 selects 1.0f.
#include "host/ops/threshold_hwy.hpp"

#include "kernels/threshold.cuh"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/threshold_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tandem::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// s > thresh ? max : 0; NaN compares false (0), as kern::ThresholdOp. s may equal d.
template <class T>
void threshold_row(const T* s, T* d, std::int64_t n, T thresh) {
  const hn::ScalableTag<T> dt;
  const auto t = hn::Set(dt, thresh);
  const auto top = hn::Set(dt, kern::pixel_max<T>());
  const std::int64_t step = std::int64_t(hn::Lanes(dt));
  std::int64_t i = 0;
  for (; i + step <= n; i += step) hn::StoreU(hn::IfThenElseZero(hn::Gt(hn::LoadU(dt, s + i), t), top), dt, d + i);
  const kern::ThresholdOp<T> op{thresh};
  for (; i < n; ++i) d[i] = op(s[i]);
}

void ThresholdU8(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, std::uint8_t t) { threshold_row(s, d, n, t); }
void ThresholdU16(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, std::uint16_t t) {
  threshold_row(s, d, n, t);
}
void ThresholdF32(const float* s, float* d, std::int64_t n, float t) { threshold_row(s, d, n, t); }

}  // namespace tandem::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::simd {
HWY_EXPORT(ThresholdU8);
HWY_EXPORT(ThresholdU16);
HWY_EXPORT(ThresholdF32);

void threshold_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, std::uint8_t t) {
  HWY_DYNAMIC_DISPATCH(ThresholdU8)(s, d, n, t);
}
void threshold_row(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, std::uint16_t t) {
  HWY_DYNAMIC_DISPATCH(ThresholdU16)(s, d, n, t);
}
void threshold_row(const float* s, float* d, std::int64_t n, float t) { HWY_DYNAMIC_DISPATCH(ThresholdF32)(s, d, n, t); }
}  // namespace tandem::simd
#endif
