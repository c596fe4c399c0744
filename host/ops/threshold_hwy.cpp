// threshold's row loop in Highway (see invert_hwy.cpp for the pattern). The comparison's
// mask is the result: all ones is 255 / 65535 for the integer types; f32 selects 1.0f.
#include "host/ops/threshold_hwy.hpp"

#include "kernels/threshold.cuh"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/threshold_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "host/ops/pointops-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tandem::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// s > thresh ? max : 0; NaN compares false (0), as kern::ThresholdOp. s may equal d.
template <class T>
void threshold_row(const T* s, T* d, std::int64_t n, T thresh, bool stream) {
  const kern::ThresholdOp<T> op{thresh};
  map_elements(
      s, d, n, stream,
      [thresh](auto dt, auto v) {
        return hn::IfThenElseZero(hn::Gt(v, hn::Set(dt, thresh)), hn::Set(dt, kern::pixel_max<T>()));
      },
      [&](T x) { return op(x); });
}

void ThresholdU8(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, std::uint8_t t, bool stream) {
  threshold_row(s, d, n, t, stream);
}
void ThresholdU16(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, std::uint16_t t, bool stream) {
  threshold_row(s, d, n, t, stream);
}
void ThresholdF32(const float* s, float* d, std::int64_t n, float t, bool stream) {
  threshold_row(s, d, n, t, stream);
}

}  // namespace tandem::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::simd {
HWY_EXPORT(ThresholdU8);
HWY_EXPORT(ThresholdU16);
HWY_EXPORT(ThresholdF32);

void threshold_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, std::uint8_t t, bool stream) {
  HWY_DYNAMIC_DISPATCH(ThresholdU8)(s, d, n, t, stream);
}
void threshold_row(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, std::uint16_t t, bool stream) {
  HWY_DYNAMIC_DISPATCH(ThresholdU16)(s, d, n, t, stream);
}
void threshold_row(const float* s, float* d, std::int64_t n, float t, bool stream) {
  HWY_DYNAMIC_DISPATCH(ThresholdF32)(s, d, n, t, stream);
}
}  // namespace tandem::simd
#endif
