// matmul: the CUDA launcher's declaration. There is no per-element math to
// share: both devices call a vendor GEMM (OpenBLAS on the CPU, cuBLAS on CUDA).
// Compiled by g++ and nvcc; no cuda_runtime.h here.
#pragma once

#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

namespace tandem::cuda {

/// C = A @ B with cuBLAS on `stream`. The host side has validated everything:
/// 2-D, matching inner dimension, C of dtype matmul_dtype(A, B), unit column
/// stride, no overlap. A or B of f32 beside an f64 operand is widened first.
Status matmul(const View& a, const View& b, const View& c, bool allow_tf32, void* stream);

}  // namespace tandem::cuda
