// Bilinear resize (cv2.resize, INTER_LINEAR): the coordinate mapping and the
// interpolation arithmetic shared by the OpenMP implementation
// (host/resize.cpp) and the CUDA kernel (kernels/resize.cu), so both devices
// produce the same bits.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/common.cuh"
#include "tandem/ops/resize.hpp"

namespace tandem::kern {

/// Source step per output pixel, computed as OpenCV does: 1 / (dst / src).
TANDEM_HD double resize_scale(int src_n, int dst_n) { return 1.0 / (double(dst_n) / double(src_n)); }

/// One output coordinate's two source taps: i0 with weight 1 - f, i1 with weight f.
struct LinearTap {
  int i0;
  int i1;
  float f;
};

/// OpenCV's mapping with half-pixel centres: s = float((d + 0.5) * scale - 0.5),
/// i0 = floor(s), f = s - i0; i0 < 0 becomes 0 and i0 >= n - 1 becomes n - 1,
/// both with f = 0 (so the edge pixel is replicated, never extrapolated).
TANDEM_HD LinearTap linear_tap(int d, double scale, int n) {
#if defined(__CUDA_ARCH__)
  // No fused multiply-add: the host (and OpenCV) round the product first.
  const float s = static_cast<float>(__dadd_rn(__dmul_rn(d + 0.5, scale), -0.5));
#else
  const float s = static_cast<float>((d + 0.5) * scale - 0.5);
#endif
  const float fl = ::floorf(s);
  int i0 = static_cast<int>(fl);
  float f = s - fl;
  if (i0 < 0) {
    i0 = 0;
    f = 0.0f;
  }
  if (i0 >= n - 1) {
    i0 = n - 1;
    f = 0.0f;
  }
  return {i0, i0 + 1 < n ? i0 + 1 : n - 1, f};
}

// ---- u8: 11-bit fixed point, as OpenCV's INTER_RESIZE_COEF_BITS -------------

inline constexpr int kResizeCoefBits = 11;
inline constexpr int kResizeCoefScale = 1 << kResizeCoefBits;

/// A weight in [0, 1] as an 11-bit fixed-point integer (rounded half to even).
TANDEM_HD int fixed_weight(float w) { return static_cast<int>(::rintf(w * float(kResizeCoefScale))); }

/// Horizontal pass: s0 * a0 + s1 * a1 (scale 2^11).
TANDEM_HD int resize_h_fixed(int s0, int s1, int a0, int a1) { return s0 * a0 + s1 * a1; }

/// A sum of products of pixels with two 11-bit weights (scale 2^22) as u8,
/// rounded to nearest. The integer sums are exact (< 2^31), so the horizontal
/// and vertical passes may run in either order and give the same bits.
TANDEM_HD std::uint8_t resize_round_fixed(int acc) {
  const int v = (acc + (1 << (2 * kResizeCoefBits - 1))) >> (2 * kResizeCoefBits);
  return static_cast<std::uint8_t>(v > 255 ? 255 : v);
}

/// Vertical pass of two horizontal results.
TANDEM_HD std::uint8_t resize_v_fixed(int h0, int h1, int b0, int b1) { return resize_round_fixed(h0 * b0 + h1 * b1); }

// ---- u16, f32: float --------------------------------------------------------

/// s0 * a0 + s1 * a1, each operation rounded once (no FMA on either device).
TANDEM_HD float resize_lerp(float s0, float s1, float a0, float a1) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(__fmul_rn(s0, a0), __fmul_rn(s1, a1));
#else
  return s0 * a0 + s1 * a1;
#endif
}

/// The float result stored as T: u16 rounds half to even and saturates.
template <class T>
TANDEM_HD T resize_store(float v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    constexpr float hi = float(std::numeric_limits<T>::max());
    v = v > 0.0f ? v : 0.0f;
    v = v < hi ? v : hi;
    return static_cast<T>(static_cast<int>(::rintf(v)));
  }
}

}  // namespace tandem::kern

namespace tandem::cuda {
/// CUDA launcher: `src` and `dst` validated by tandem::resize, on the same device.
Status resize(const View& src, const View& dst, void* stream);
}  // namespace tandem::cuda
