// invert's row loop in Highway: compiled once per SIMD target (foreach_target.h), the best
// target the CPU has is picked at run time (HWY_DYNAMIC_DISPATCH). Width-agnostic: the loop
// steps by Lanes(d); the tail uses the scalar rule of kernels/invert.cuh.
#include "host/ops/invert_hwy.hpp"

#include "kernels/invert.cuh"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/invert_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tandem::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// max - x (u8, u16: exact) or 1 - x (f32: one rounding, as the CUDA side). s may equal d:
// each vector is loaded before the same positions are stored.
template <class T>
void invert_row(const T* s, T* d, std::int64_t n) {
  const hn::ScalableTag<T> dt;
  const auto top = hn::Set(dt, kern::pixel_max<T>());
  const std::int64_t step = std::int64_t(hn::Lanes(dt));
  std::int64_t i = 0;
  for (; i + step <= n; i += step) hn::StoreU(hn::Sub(top, hn::LoadU(dt, s + i)), dt, d + i);
  const kern::InvertOp<T> op;
  for (; i < n; ++i) d[i] = op(s[i]);
}

void InvertU8(const std::uint8_t* s, std::uint8_t* d, std::int64_t n) { invert_row(s, d, n); }
void InvertU16(const std::uint16_t* s, std::uint16_t* d, std::int64_t n) { invert_row(s, d, n); }
void InvertF32(const float* s, float* d, std::int64_t n) { invert_row(s, d, n); }

}  // namespace tandem::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::simd {
HWY_EXPORT(InvertU8);
HWY_EXPORT(InvertU16);
HWY_EXPORT(InvertF32);

void invert_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n) { HWY_DYNAMIC_DISPATCH(InvertU8)(s, d, n); }
void invert_row(const std::uint16_t* s, std::uint16_t* d, std::int64_t n) { HWY_DYNAMIC_DISPATCH(InvertU16)(s, d, n); }
void invert_row(const float* s, float* d, std::int64_t n) { HWY_DYNAMIC_DISPATCH(InvertF32)(s, d, n); }
}  // namespace tandem::simd
#endif
