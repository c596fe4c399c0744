// Math shared by the CUDA kernels and the OpenMP implementations: compiled by
// both nvcc and g++, so it must not include cuda_runtime.h.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#if defined(__CUDACC__)
#define TANDEM_HD __host__ __device__ __forceinline__
#else
#define TANDEM_HD inline
#endif

namespace tandem::kern {

/// Border rules, numbered as the public tandem::Border enum.
enum class BorderMode : int { reflect101 = 0, replicate = 1, constant = 2 };

/// Maps a coordinate outside [0, n) into it; returns -1 for BORDER_CONSTANT.
/// reflect101 mirrors about the edge pixel without repeating it (OpenCV
/// BORDER_REFLECT_101, SciPy 'mirror'); the loop handles windows wider than
/// the image, as cv::borderInterpolate does.
TANDEM_HD int border_index(int p, int n, BorderMode mode) {
  if (static_cast<unsigned>(p) < static_cast<unsigned>(n)) return p;
  switch (mode) {
    case BorderMode::replicate:
      return p < 0 ? 0 : n - 1;
    case BorderMode::constant:
      return -1;
    case BorderMode::reflect101:
    default:
      if (n == 1) return 0;
      do {
        p = p < 0 ? -p : 2 * n - 2 - p;
      } while (static_cast<unsigned>(p) >= static_cast<unsigned>(n));
      return p;
  }
}

// Arithmetic rounded after every operation. nvcc contracts a*b+c into an FMA
// by default, which would round once where NumPy rounds twice; the _rn
// intrinsics forbid that so both devices give NumPy's bits. The host is
// compiled with -ffp-contract=off, so there a plain operation rounds alone.
#if defined(__CUDA_ARCH__)
TANDEM_HD float mul_rn(float a, float b) { return __fmul_rn(a, b); }
TANDEM_HD double mul_rn(double a, double b) { return __dmul_rn(a, b); }
TANDEM_HD float add_rn(float a, float b) { return __fadd_rn(a, b); }
TANDEM_HD double add_rn(double a, double b) { return __dadd_rn(a, b); }
#else
TANDEM_HD float mul_rn(float a, float b) { return a * b; }
TANDEM_HD double mul_rn(double a, double b) { return a * b; }
TANDEM_HD float add_rn(float a, float b) { return a + b; }
TANDEM_HD double add_rn(double a, double b) { return a + b; }
#endif

template <class T>
struct type_max {
  static constexpr double value = std::is_floating_point_v<T> ? 1.0 : double(std::numeric_limits<T>::max());
};

/// Rounds half to even (as cvRound / lrint) and saturates to T; floats pass through.
template <class T>
TANDEM_HD T saturate(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    if (!(v == v)) return T(0);  // NaN
    double r = ::rint(v);
    constexpr double lo = double(std::numeric_limits<T>::lowest());
    constexpr double hi = double(std::numeric_limits<T>::max());
    r = r < lo ? lo : (r > hi ? hi : r);
    return static_cast<T>(r);
  }
}

template <class T>
TANDEM_HD T saturate(float v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    if (!(v == v)) return T(0);
    float r = ::rintf(v);
    constexpr float lo = float(std::numeric_limits<T>::lowest());
    constexpr float hi = float(std::numeric_limits<T>::max());
    r = r < lo ? lo : (r > hi ? hi : r);
    return static_cast<T>(r);
  }
}

}  // namespace tandem::kern
