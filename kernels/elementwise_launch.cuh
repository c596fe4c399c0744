// CUDA-only helpers of the elementwise stem that other stems' .cu files reuse
// (histogram needs the same min/max reduction).  Include only from .cu files.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/elementwise.cuh"

namespace tandem::cuda {

/// Queues a NaN-propagating min/max reduction of in[0, n) (n >= 1) on `s`; the
/// result is left in device memory that *out points to (cudaMallocAsync'd on
/// `s`; the caller frees it with cudaFreeAsync on the same stream).
/// Instantiated for u8, u16, i32, i64, f32, f64.
template <class T>
Status device_minmax(const T* in, std::int64_t n, kern::MinMax<T>** out, cudaStream_t s);

}  // namespace tandem::cuda
