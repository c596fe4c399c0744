/// @file elementwise.hpp
/// @brief Elementwise array ops with NumPy semantics: affine, clamp, abs, sqrt,
///        exp, log, power, normalize.
///
/// Inputs: contiguous arrays of any shape and dtype (u8, u16, i32, i64, f32,
/// f64); dst has src's shape, on the same device, with the dtype
/// elementwise_result_dtype() gives.  dst may be src itself when the dtypes
/// agree.  CUDA calls are queued on exec.stream and return without waiting.
///
/// Result dtypes (NumPy's rules for an array with Python float scalars):
///  - f32 input stays f32 and is computed in f32 (scalars rounded to f32),
///    f64 stays f64;
///  - integer input gives f64 for affine, sqrt, exp, log, power and normalize
///    (as `a * 2.5`, np.power(a, 2.0)).  Where we differ: NumPy's sqrt/exp/log
///    give f16 for u8 and f32 for u16; tandem gives f64 for both;
///  - clamp and abs keep the input dtype (np.clip with in-range bounds, np.abs).
/// NaN and infinity behave as in NumPy: sqrt(-1) = nan, log(0) = -inf,
/// log(-1) = nan, clip(nan) = nan.
#pragma once

#include <limits>

#include "tandem/device.hpp"
#include "tandem/dtype.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief dst = src * scale + offset, rounded after the product and after the
///        sum as NumPy does (for f32 input, scale and offset are rounded to f32).
struct AffineParams {
  double scale = 1;
  double offset = 0;
};

/// @brief np.clip(src, min, max).  Either bound may be infinite (= no bound);
///        min <= max is required.  For integer dtypes the bounds are rounded
///        inward (ceil(min), floor(max)) and saturated to the dtype's range, so
///        the result is the nearest representable value in [min, max]; an
///        interval holding no value of the dtype is an error.  For f32 the
///        bounds are rounded to f32 as NumPy does.
struct ClampParams {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
};

/// @brief The parameterless elementwise functions.
enum class UnaryFn : int {
  abs,   ///< np.abs; keeps the dtype (abs of the most negative integer wraps, as NumPy)
  sqrt,  ///< np.sqrt; sqrt(x < 0) = nan
  exp,   ///< np.exp
  log,   ///< np.log; log(0) = -inf, log(x < 0) = nan
};

struct UnaryParams {
  UnaryFn fn = UnaryFn::abs;
};

/// @brief np.power(src, p) with a float exponent p (integer input gives f64,
///        as np.power(a, 2.0); f32 input uses powf with p rounded to f32).
struct PowerParams {
  double p = 1;
};

/// @brief (src - min) / (max - min) with min and max of the whole array.
///        A constant array gives zeros (NumPy would give nan from 0/0); any NaN
///        in src makes the whole result NaN (as NumPy).  Float input is computed
///        in its own precision exactly as NumPy evaluates the expression;
///        integer input is computed in f64 (NumPy subtracts in the integer type
///        first and can overflow).  On CUDA the min/max reduction stays in
///        device memory: no host synchronisation.
struct NormalizeParams {};

/// @brief The dtype an elementwise op produces from `in`: f32 -> f32, f64 -> f64,
///        integers -> f64 (for affine, sqrt, exp, log, power, normalize).
constexpr DType elementwise_float_dtype(DType in) noexcept {
  return in == DType::f32 ? DType::f32 : DType::f64;
}

/// @brief Writes src * scale + offset into a preallocated dst.
Status affine(const View& src, const View& dst, const AffineParams& p, const Exec& exec);
/// @brief Allocates dst on exec.device (dtype elementwise_float_dtype(src.dtype)).
Status affine(const View& src, Tensor& dst, const AffineParams& p, const Exec& exec);

/// @brief Writes np.clip(src, min, max) into a preallocated dst (same dtype as src).
Status clamp(const View& src, const View& dst, const ClampParams& p, const Exec& exec);
/// @brief Allocates dst on exec.device (dtype of src).
Status clamp(const View& src, Tensor& dst, const ClampParams& p, const Exec& exec);

/// @brief Writes abs/sqrt/exp/log of src into a preallocated dst
///        (abs: src's dtype; the others: elementwise_float_dtype(src.dtype)).
Status unary(const View& src, const View& dst, const UnaryParams& p, const Exec& exec);
/// @brief Allocates dst on exec.device.
Status unary(const View& src, Tensor& dst, const UnaryParams& p, const Exec& exec);

/// @brief Writes np.power(src, p) into a preallocated dst.
Status power(const View& src, const View& dst, const PowerParams& p, const Exec& exec);
/// @brief Allocates dst on exec.device (dtype elementwise_float_dtype(src.dtype)).
Status power(const View& src, Tensor& dst, const PowerParams& p, const Exec& exec);

/// @brief Writes (src - min) / (max - min) into a preallocated dst; src must not be empty.
Status normalize(const View& src, const View& dst, const NormalizeParams& p, const Exec& exec);
/// @brief Allocates dst on exec.device (dtype elementwise_float_dtype(src.dtype)).
Status normalize(const View& src, Tensor& dst, const NormalizeParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
