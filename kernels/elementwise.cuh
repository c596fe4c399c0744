// Per-element math of the elementwise ops (affine, clamp, abs, sqrt, exp, log,
// pow, normalize), shared by the OpenMP loops (host/elementwise.cpp) and the
// CUDA kernels (kernels/elementwise.cu).  Compiled by g++ and nvcc; no
// cuda_runtime.h here.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/common.cuh"
#include "tandem/tensor.hpp"

namespace tandem::kern {

/// The floating type an integer or float input is computed in and returned as
/// by affine/sqrt/exp/log/pow/normalize: f32 -> f32, everything else -> f64.
template <class T>
using float_result_t = std::conditional_t<std::is_same_v<T, float>, float, double>;

TANDEM_HD bool is_nan(float v) { return v != v; }
TANDEM_HD bool is_nan(double v) { return v != v; }
template <class T>
TANDEM_HD bool is_nan(T) { return false; }  // integers

/// NaN-propagating min / max (np.minimum / np.maximum): a NaN operand wins.
template <class T>
TANDEM_HD T nan_min(T a, T b) {
  if (is_nan(a)) return a;
  if (is_nan(b)) return b;
  return b < a ? b : a;
}
template <class T>
TANDEM_HD T nan_max(T a, T b) {
  if (is_nan(a)) return a;
  if (is_nan(b)) return b;
  return a < b ? b : a;
}

/// Running min and max of an array (normalize, histogram's autodetected range).
template <class T>
struct MinMax {
  T min;
  T max;
  /// The identity of the reduction.
  TANDEM_HD static MinMax identity() {
    if constexpr (std::is_floating_point_v<T>)
      return {std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity()};
    else
      return {std::numeric_limits<T>::max(), std::numeric_limits<T>::lowest()};
  }
};

/// One element as a MinMax (the transform of a min/max reduction).
template <class T>
struct ToMinMax {
  TANDEM_HD MinMax<T> operator()(T v) const { return {v, v}; }
};

/// Combines two MinMax, propagating NaN like np.min / np.max.
struct MinMaxMerge {
  template <class T>
  TANDEM_HD MinMax<T> operator()(const MinMax<T>& a, const MinMax<T>& b) const {
    return {nan_min(a.min, b.min), nan_max(a.max, b.max)};
  }
};

// ---------------------------------------------------------------------------
// The functors.  Each maps one input element of type T to one output element.
// ---------------------------------------------------------------------------

/// x * scale + offset, rounded after the product and after the sum, as NumPy
/// evaluates `a * scale + offset` (scale, offset rounded to f32 for f32 input).
template <class T>
struct AffineFn {
  using R = float_result_t<T>;
  R scale;
  R offset;
  TANDEM_HD R operator()(T x) const { return add_rn(mul_rn(static_cast<R>(x), scale), offset); }
};

/// np.clip for floats: min(max(x, lo), hi) with NaN passing through and
/// NumPy's comparison order (so clip(-0.0, 0, 1) is +0.0 as in NumPy).
/// For integers lo and hi are already representable (see clamp_bounds).
template <class T>
struct ClampFn {
  T lo;
  T hi;
  TANDEM_HD T operator()(T x) const {
    if (is_nan(x)) return x;
    const T m = x > lo ? x : lo;
    return m < hi ? m : hi;
  }
};

/// np.abs: |x|; for signed integers the most negative value maps to itself
/// (two's-complement wrap, as NumPy), computed without signed overflow.
template <class T>
struct AbsFn {
  TANDEM_HD T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>) {
      return ::fabsf(x);
    } else if constexpr (std::is_same_v<T, double>) {
      return ::fabs(x);
    } else if constexpr (std::is_signed_v<T>) {
      using U = std::make_unsigned_t<T>;
      const U u = static_cast<U>(x);
      return static_cast<T>(x < 0 ? static_cast<U>(U(0) - u) : u);
    } else {
      return x;
    }
  }
};

/// np.sqrt, np.exp, np.log: the f32 function where the result is f32, else the f64 one.
#define TANDEM_FLOAT_MATH_FN(Name, f32_function, f64_function)          \
  template <class T>                                                    \
  struct Name {                                                         \
    using R = float_result_t<T>;                                        \
    TANDEM_HD R operator()(T x) const {                                 \
      if constexpr (std::is_same_v<R, float>) return ::f32_function(x); \
      else return ::f64_function(static_cast<double>(x));               \
    }                                                                   \
  };
TANDEM_FLOAT_MATH_FN(SqrtFn, sqrtf, sqrt)
TANDEM_FLOAT_MATH_FN(ExpFn, expf, exp)
TANDEM_FLOAT_MATH_FN(LogFn, logf, log)
#undef TANDEM_FLOAT_MATH_FN

/// np.power(a, p) with a float exponent (p rounded to f32 for f32 input).
template <class T>
struct PowFn {
  using R = float_result_t<T>;
  R p;
  TANDEM_HD R operator()(T x) const {
    if constexpr (std::is_same_v<R, float>) return ::powf(x, p);
    else return ::pow(static_cast<double>(x), p);
  }
};

/// (x - min) / (max - min) with min/max of the whole array, evaluated as NumPy
/// evaluates `(a - a.min()) / (a.max() - a.min())` for float input (each
/// difference rounded to R); integers are computed in f64 (no integer
/// overflow).  A constant array (max == min) gives 0; NaN anywhere gives NaN.
template <class T>
struct NormalizeFn {
  using R = float_result_t<T>;
  R min;
  R range;
  TANDEM_HD static NormalizeFn make(T mn, T mx) {
    const R lo = static_cast<R>(mn);
    return {lo, static_cast<R>(static_cast<R>(mx) - lo)};
  }
  TANDEM_HD R operator()(T x) const {
    if (range == R(0)) return R(0);
    return static_cast<R>(static_cast<R>(x) - min) / range;
  }
};

}  // namespace tandem::kern

namespace tandem::cuda {

/// Which functor a launch applies.
enum class EwKind : int { affine, clamp, abs, sqrt, exp, log, pow, normalize };

/// Arguments of one elementwise launch, in plain C++ types.
struct EwArgs {
  EwKind kind = EwKind::abs;
  double a = 0;  ///< affine scale, clamp lo, pow exponent
  double b = 0;  ///< affine offset, clamp hi
  std::int64_t ilo = 0;  ///< clamp lo for integer input (already rounded and saturated)
  std::int64_t ihi = 0;  ///< clamp hi for integer input
};

/// Queues dst = f(src) on `stream`.  src/dst contiguous on the same CUDA device,
/// dst dtype as elementwise_result_dtype says.  Validated by the caller.
Status elementwise(const View& src, const View& dst, const EwArgs& args, void* stream);

}  // namespace tandem::cuda
