/// @file matmul.hpp
/// @brief 2-D matrix product C = A @ B, as np.matmul for 2-D operands.
#pragma once

#include "tandem/device.hpp"
#include "tandem/dtype.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Parameters of matmul.
struct MatmulParams {
  /// CUDA and f32 x f32 only: let cuBLAS use TF32 tensor cores (inputs rounded
  /// to 10 mantissa bits, accumulation in f32; several times faster, relative
  /// error ~1e-3). Off by default, so f32 results are full f32 precision.
  /// Ignored on the CPU and for f64.
  bool allow_tf32 = false;
};

/// @brief The dtype matmul computes in and writes: f32 when A and B are both
///        f32, else f64 (an f32 operand is widened exactly; NumPy promotes
///        f32 @ f64 to f64 too).
constexpr DType matmul_dtype(DType a, DType b) noexcept {
  return a == DType::f32 && b == DType::f32 ? DType::f32 : DType::f64;
}

/// @brief C = A @ B for a 2-D A (M x K) and B (K x N) of dtype f32 or f64 into
///        the preallocated C (M x N, dtype matmul_dtype(A, B)).
///
/// All three must be on exec.device and have unit stride along columns (rows
/// may be padded); C must not overlap A or B. K == 0 gives zeros, as NumPy.
/// Shape errors name both shapes. The summation order is BLAS's, so results
/// match a float64 reference to rounding, not bit for bit.
///
/// CPU: OpenBLAS cblas_sgemm / cblas_dgemm (row-major). Debian's OpenBLAS is
/// the pthreads build: it runs its own thread pool, not OpenMP's, and its
/// thread count is process-wide. Each call sets it to cpu_threads(exec)
/// (Exec::threads, else omp_get_max_threads()) when it differs; inside an
/// OpenMP parallel region with Exec::threads == 0 it uses 1 thread so a team
/// of callers does not oversubscribe the cores. Concurrent callers asking for
/// different counts race on that one setting (results stay correct).
///
/// CUDA: cuBLAS sgemm / dgemm on exec.stream with one cublasHandle_t per
/// (host thread, device), created on first use and kept until the thread exits.
Status matmul(const View& a, const View& b, const View& c, const MatmulParams& p, const Exec& exec);

/// @brief As above, allocating C (M x N, matmul_dtype(A, B)) on exec.device.
Status matmul(const View& a, const View& b, Tensor& c, const MatmulParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
