// Gaussian blur: the aperture and weights rules (shared by the OpenMP and the
// CUDA implementation) and the CUDA launcher's declaration. Compiles with g++.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/common.cuh"
#include "tandem/dtype.hpp"
#include "tandem/ops/gaussian.hpp"

namespace tandem::kern {

/// The aperture cv2.GaussianBlur(img, (0,0), sigma) picks: cvRound (half to
/// even) of sigma * (3 for u8, 4 otherwise) * 2 + 1, forced odd.
inline int gaussian_auto_ksize(double sigma, DType t) {
  return static_cast<int>(std::nearbyint(sigma * (t == DType::u8 ? 3 : 4) * 2 + 1)) | 1;
}

/// The half aperture gaussian() uses: p.radius, or the automatic one from sigma.
inline int gaussian_radius(const GaussianParams& p, DType t) {
  return p.radius > 0 ? p.radius : gaussian_auto_ksize(p.sigma, t) / 2;
}

/// Fills w[0..n) (n odd) with cv::getGaussianKernel(n, sigma) in double: for
/// sigma > 0, exp(-x^2 / (2 sigma^2)) for x = -n/2 .. n/2, normalised by
/// multiplying with 1/sum. OpenCV's fixed small tables (n = 1, 3, 5, 7) apply
/// only when sigma <= 0, and so do they here; a sigma <= 0 with a larger n
/// becomes 0.3 * ((n - 1) / 2 - 1) + 0.8, as in OpenCV.
inline void gaussian_weights(int n, double sigma, double* w) {
  if (sigma <= 0) {
    static constexpr double t1[] = {1.};
    static constexpr double t3[] = {0.25, 0.5, 0.25};
    static constexpr double t5[] = {0.0625, 0.25, 0.375, 0.25, 0.0625};
    static constexpr double t7[] = {0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125};
    const double* t = n == 1 ? t1 : n == 3 ? t3 : n == 5 ? t5 : n == 7 ? t7 : nullptr;
    if (t) {
      for (int i = 0; i < n; ++i) w[i] = t[i];
      return;
    }
    sigma = ((n - 1) * 0.5 - 1) * 0.3 + 0.8;
  }
  const double scale = -0.5 / (sigma * sigma);
  const int r = n / 2;
  double sum = 1.0;  // the centre tap, exp(0)
  for (int i = 0; i < r; ++i) {
    const double x = i - r;
    sum += 2 * std::exp(scale * x * x);
  }
  const double inv = 1.0 / sum;
  for (int i = 0; i < r; ++i) {
    const double x = i - r;
    w[i] = w[n - 1 - i] = std::exp(scale * x * x) * inv;
  }
  w[r] = inv;
}

/// gaussian_weights rounded to float (the weights of the float path).
inline void gaussian_weights(int n, double sigma, float* w) {
  double d[2 * kGaussianMaxRadius + 1];
  gaussian_weights(n, sigma, d);
  for (int i = 0; i < n; ++i) w[i] = static_cast<float>(d[i]);
}

// ---------------------------------------------------------------------------
// The u8 fixed-point path. Both passes run on 16-bit integers with
// kGaussFxBits fractional bits (x * 128 for a u8 x, at most 32640), so the sum
// of two samples still fits 16 bits. The 1-D weights q[0..2r] are integers
// that sum to exactly 2^16. Each pass computes, for every output element,
//   s = mulhi(p[r], q[r]) + sum_{k<r} mulhi(p[k] + p[2r-k], q[k]),
//   mulhi(a, b) = (a * b) >> 16   (floor),
// over its 2r+1 inputs p (the horizontal pass over x * 128, the vertical pass
// over the horizontal results), and the result is
//   min(255, (s + 64 + r + 1) >> 7):
// rounding half up, after adding back r + 1, the mean of what the 2 (r + 1)
// floors of the two passes drop (each drops [0, 1) units of 1/128). Every step
// is an exact integer operation, so the CPU's vector code and the CUDA kernel
// compute the same integers. Its error against the float64 Gaussian before the
// final rounding: the floors, |e| <= (r + 1) / 128 after the compensation,
// plus the quantization of the weights, at most 255 * sum|q / 2^16 - w| per
// pass. Up to kGaussFxMaxRadius the two stay under 1/2 (tests/gaussian_test.cpp
// checks it for each aperture), so every result is within 1 of the float64
// ideal; wider u8 apertures, and r = 0 (a copy), take the float path.

constexpr int kGaussFxBits = 7;
constexpr int kGaussFxMaxRadius = 30;

/// Whether gaussian of this dtype and half aperture runs the fixed-point path.
TANDEM_HD bool gaussian_fixed_point(DType t, int r) { return t == DType::u8 && r >= 1 && r <= kGaussFxMaxRadius; }

/// The 16-bit product of the fixed-point passes: floor(a * b / 2^16).
TANDEM_HD std::uint16_t gauss_fx_mul(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::uint16_t>((a * b) >> 16);
}

/// A pass's integer result from its 2r+1 inputs get(0..2r) (16-bit, <= 32640 each).
template <class Get>
TANDEM_HD std::uint16_t gauss_fx_sum(const std::uint16_t* q, int r, Get get) {
  std::uint32_t s = gauss_fx_mul(get(r), q[r]);
  for (int k = 0; k < r; ++k) s += gauss_fx_mul(std::uint32_t(get(k)) + get(2 * r - k), q[k]);
  return static_cast<std::uint16_t>(s);
}

/// The horizontal pass of a row whose every pixel is the u8 value c.
TANDEM_HD std::uint16_t gauss_fx_const_row(const std::uint16_t* q, int r, std::uint8_t c) {
  return gauss_fx_sum(q, r, [c](int) { return std::uint16_t(c << kGaussFxBits); });
}

/// The u8 result of the vertical pass's s.
TANDEM_HD std::uint8_t gauss_fx_finish(std::uint32_t s, int r) {
  const std::uint32_t v = (s + (1u << (kGaussFxBits - 1)) + std::uint32_t(r) + 1) >> kGaussFxBits;
  return static_cast<std::uint8_t>(v > 255 ? 255 : v);
}

/// The integer weights q[0..n) (n = 2r+1 odd, r <= kGaussFxMaxRadius) of the
/// fixed-point path: symmetric, summing to exactly 2^16, each below 2^16 (the
/// centre is even and at most 2^16 - 2, so a kernel that is nearly a delta
/// gives its neighbours 1 each). Each outer weight starts as round(w * 2^16)
/// (half away from zero) and the centre takes the rest; while the centre is
/// more than 1 off its own w * 2^16, the outer pair whose rounding moved it
/// least in the needed direction takes or gives one unit (two with its mirror),
/// the one nearest the centre first on ties. That keeps every weight within 1
/// of its float64 value (the capped centre within 2).
inline void gaussian_fixed_weights(int n, double sigma, std::uint16_t* q) {
  double w[2 * kGaussianMaxRadius + 1];
  gaussian_weights(n, sigma, w);
  const int r = n / 2;
  constexpr double one = 65536.0;
  long long outer = 0;
  long long qi[2 * kGaussianMaxRadius + 1];
  for (int k = 0; k < r; ++k) outer += 2 * (qi[k] = std::llround(w[k] * one));
  long long centre = 65536 - outer;
  const double want = w[r] * one;
  while (centre - want > 1 || centre > 65534) {  // the centre too large: raise an outer pair
    int best = -1;
    for (int k = 0; k < r; ++k)
      if (best < 0 || w[k] * one - double(qi[k]) >= w[best] * one - double(qi[best])) best = k;
    if (best < 0) break;  // r == 0: not a fixed-point aperture
    ++qi[best];
    centre -= 2;
  }
  while (want - centre > 1 && centre <= 65532) {  // the centre too small: lower an outer pair
    int best = -1;
    for (int k = 0; k < r; ++k)
      if (qi[k] > 0 && (best < 0 || double(qi[k]) - w[k] * one >= double(qi[best]) - w[best] * one)) best = k;
    if (best < 0) break;
    --qi[best];
    centre += 2;
  }
  for (int k = 0; k < r; ++k) q[k] = q[n - 1 - k] = static_cast<std::uint16_t>(qi[k]);
  q[r] = static_cast<std::uint16_t>(centre);
}

}  // namespace tandem::kern

namespace tandem::cuda {
/// Queues the blur on `stream` (a cudaStream_t); src and dst validated by the caller.
Status gaussian(const View& src, const View& dst, const GaussianParams& p, void* stream);
}  // namespace tandem::cuda
