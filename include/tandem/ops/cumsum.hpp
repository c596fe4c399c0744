/// @file cumsum.hpp
/// @brief Cumulative sum over the flattened array, as np.cumsum(a).
#pragma once

#include "tandem/device.hpp"
#include "tandem/dtype.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Parameters of cumsum. There are none: the sum always runs over the
///        flattened array (NumPy's axis=None), in C order.
struct CumsumParams {};

/// @brief Output dtype of cumsum for an input dtype: i64 for every integer
///        input, f32 for f32, f64 for f64.
constexpr DType cumsum_dtype(DType in) noexcept { return dtype_is_float(in) ? in : DType::i64; }

/// @brief Inclusive prefix sums of `src` flattened in C order into the 1-D `dst`
///        of length src.numel().
///
/// Equals np.cumsum(a) with these differences, all deliberate:
///  - integer inputs accumulate in 64 bits and produce i64 (NumPy gives uint64
///    for u8/u16 on Linux; the values are the same). i64 sums that overflow wrap
///    modulo 2^64, as NumPy's do.
///  - f32 inputs accumulate in double and each prefix is rounded once to f32, so
///    the result is at least as accurate as NumPy's sequential f32 sum (usually
///    much more accurate for long arrays).
///  - floating-point sums are computed blockwise in parallel (CPU) or by CUB's
///    decoupled look-back scan (CUDA), so the rounding of the double accumulator
///    differs slightly from a strictly sequential sum, and on CUDA may differ
///    from run to run in the last bits.
///
/// `dst` must be contiguous, 1-D, of length src.numel(), of dtype
/// cumsum_dtype(src.dtype), on the same device; `src` may have any strides.
Status cumsum(const View& src, const View& dst, const CumsumParams& p, const Exec& exec);

/// @brief As above, allocating the 1-D `dst` on exec.device.
Status cumsum(const View& src, Tensor& dst, const CumsumParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
