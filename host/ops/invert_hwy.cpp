// invert's row loop in Highway: compiled once per SIMD target (foreach_target.h), the best
// target the CPU has is picked at run time (HWY_DYNAMIC_DISPATCH). Width-agnostic: the loop
// steps by Lanes(d); the tail uses the scalar rule of kernels/invert.cuh.
#include "host/ops/invert_hwy.hpp"

#include "kernels/invert.cuh"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/invert_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "host/ops/pointops-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tandem::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// max - x (u8, u16: exact) or 1 - x (f32: one rounding, as the CUDA side). s may equal d:
// each vector is loaded before the same positions are stored.
template <class T>
void invert_row(const T* s, T* d, std::int64_t n, bool stream) {
  const kern::InvertOp<T> op;
  map_elements(
      s, d, n, stream, [](auto dt, auto v) { return hn::Sub(hn::Set(dt, kern::pixel_max<T>()), v); },
      [&](T x) { return op(x); });
}

void InvertU8(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, bool stream) { invert_row(s, d, n, stream); }
void InvertU16(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, bool stream) {
  invert_row(s, d, n, stream);
}
void InvertF32(const float* s, float* d, std::int64_t n, bool stream) { invert_row(s, d, n, stream); }

}  // namespace tandem::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::simd {
HWY_EXPORT(InvertU8);
HWY_EXPORT(InvertU16);
HWY_EXPORT(InvertF32);

void invert_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, bool stream) {
  HWY_DYNAMIC_DISPATCH(InvertU8)(s, d, n, stream);
}
void invert_row(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, bool stream) {
  HWY_DYNAMIC_DISPATCH(InvertU16)(s, d, n, stream);
}
void invert_row(const float* s, float* d, std::int64_t n, bool stream) {
  HWY_DYNAMIC_DISPATCH(InvertF32)(s, d, n, stream);
}
}  // namespace tandem::simd
#endif
