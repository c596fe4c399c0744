// Sobel gradient magnitude: the per-pixel math shared by the OpenMP loop
// (host/sobel.cpp) and the CUDA kernel (kernels/sobel.cu).
//
// Both devices evaluate, in float and in this order,
//   vs(col) = top + 2*mid + bottom        (vertical [1 2 1] smoothing)
//   vd(col) = bottom - top                (vertical derivative)
//   gx = vs(x+1) - vs(x-1),  gy = vd(x-1) + 2*vd(x) + vd(x+1)
//   out = saturate(rint(sqrt(gx*gx + gy*gy)))
// with no fused multiply-adds, so their results are bit-identical. For u8 and
// u16 inputs gx and gy are exact integers in float; for u8 so is gx^2 + gy^2.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/common.cuh"
#include "tandem/ops/sobel.hpp"

namespace tandem::kern {

/// The [1 2 1] smoothing tap (2*b is exact, so a fused form would round the same).
TANDEM_HD float smooth3(float a, float b, float c) { return (a + 2.0f * b) + c; }

/// sqrt(gx^2 + gy^2), rounded half to even and saturated for integer T.
template <class T>
TANDEM_HD T sobel_magnitude(float gx, float gy) {
  float m = ::sqrtf(add_rn(mul_rn(gx, gx), mul_rn(gy, gy)));
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(m);
  } else {
    constexpr float hi = float(std::numeric_limits<T>::max());
    m = m < hi ? m : hi;  // m >= 0, never NaN for integer inputs
    return static_cast<T>(static_cast<int>(::rintf(m)));
  }
}

/// Sobel magnitude from a 3x3 neighbourhood a[row][col] (row 0 = y-1, col 0 = x-1;
/// the centre pixel has weight 0 in both derivatives).
template <class T>
TANDEM_HD T sobel_pixel(float a00, float a01, float a02, float a10, float a12, float a20, float a21,
                        float a22) {
  const float vs_l = smooth3(a00, a10, a20);
  const float vs_r = smooth3(a02, a12, a22);
  const float gx = vs_r - vs_l;
  const float gy = smooth3(a20 - a00, a21 - a01, a22 - a02);
  return sobel_magnitude<T>(gx, gy);
}

}  // namespace tandem::kern

namespace tandem::cuda {
/// CUDA launcher: `src` and `dst` validated by tandem::sobel, on the same device.
Status sobel(const View& src, const View& dst, const SobelParams& p, void* stream);
}  // namespace tandem::cuda
