// Threshold rule shared by the OpenMP loop (host/threshold.cpp) and the CUDA kernel.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/common.cuh"
#include "tandem/ops/threshold.hpp"

namespace tandem::kern {

/// What THRESH_BINARY reduces to for a given T and element type.
enum class ThresholdMode : int { compare, all_max, all_zero };

template <class T>
struct ThresholdPlan {
  ThresholdMode mode = ThresholdMode::compare;
  T thresh{};  ///< for compare: dst = src > thresh ? max : 0
};

/// The type maximum: 255, 65535, or 1 for floating point (normalised images).
template <class T>
TANDEM_HD constexpr T pixel_max() {
  if constexpr (std::is_floating_point_v<T>) return T(1);
  else return std::numeric_limits<T>::max();
}

/// Resolves T as cv::threshold does. Integer types: ithresh = floor(T); ithresh < 0 -> every
/// pixel is above it; ithresh >= max -> none is (OpenCV's dst.setTo shortcut); else compare
/// against ithresh. Floating point: compare against (float)T, so T = 0.1 means 0.1f.
template <class T>
inline ThresholdPlan<T> plan_threshold(double value) {
  ThresholdPlan<T> p;
  if constexpr (std::is_floating_point_v<T>) {
    // Clamp before narrowing: a double beyond float's range is undefined to convert.
    constexpr double big = 0x1.ffffffp+127;  // FLT_MAX + half an ulp: rounds to inf from here
    p.thresh = value >= big ? std::numeric_limits<T>::infinity()
               : value <= -big ? -std::numeric_limits<T>::infinity()
                               : static_cast<T>(value);
  } else {
    const double f = std::floor(value);
    if (f < 0) p.mode = ThresholdMode::all_max;
    else if (f >= double(pixel_max<T>())) p.mode = ThresholdMode::all_zero;
    else p.thresh = static_cast<T>(f);
  }
  return p;
}

/// dst = src > thresh ? max : 0 (NaN compares false, so gives 0).
template <class T>
struct ThresholdOp {
  T thresh;
  TANDEM_HD T operator()(T v) const { return v > thresh ? pixel_max<T>() : T(0); }
};

}  // namespace tandem::kern

namespace tandem::cuda {
/// Queues THRESH_BINARY on `stream` (src/dst validated by the caller).
Status threshold(const View& src, const View& dst, const ThresholdParams& p, void* stream);
}  // namespace tandem::cuda
