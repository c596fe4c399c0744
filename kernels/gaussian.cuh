// Gaussian blur: the aperture and weights rules (shared by the OpenMP and the
// CUDA implementation) and the CUDA launcher's declaration. Compiles with g++.
#pragma once

#include <cmath>

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

/// Fills w[0..n) (n odd) with cv::getGaussianKernel(n, sigma): for sigma > 0,
/// exp(-x^2 / (2 sigma^2)) for x = -n/2 .. n/2, normalised by multiplying with
/// 1/sum, in double, then rounded to float. OpenCV's fixed small tables (n = 1,
/// 3, 5, 7) apply only when sigma <= 0, and so do they here; a sigma <= 0 with
/// a larger n becomes 0.3 * ((n - 1) / 2 - 1) + 0.8, as in OpenCV.
inline void gaussian_weights(int n, double sigma, float* w) {
  if (sigma <= 0) {
    static constexpr float t1[] = {1.f};
    static constexpr float t3[] = {0.25f, 0.5f, 0.25f};
    static constexpr float t5[] = {0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f};
    static constexpr float t7[] = {0.03125f, 0.109375f, 0.21875f, 0.28125f,
                                   0.21875f, 0.109375f, 0.03125f};
    const float* t = n == 1 ? t1 : n == 3 ? t3 : n == 5 ? t5 : n == 7 ? t7 : nullptr;
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
    w[i] = w[n - 1 - i] = static_cast<float>(std::exp(scale * x * x) * inv);
  }
  w[r] = static_cast<float>(inv);
}

}  // namespace tandem::kern

namespace tandem::cuda {
/// Queues the blur on `stream` (a cudaStream_t); src and dst validated by the caller.
Status gaussian(const View& src, const View& dst, const GaussianParams& p, void* stream);
}  // namespace tandem::cuda
