// 2-D correlation: the rounding rule (shared by the OpenMP and the CUDA
// implementation) and the CUDA launcher's declaration. Compiles with g++.
#pragma once

#include "kernels/common.cuh"
#include "tandem/ops/filter.hpp"

namespace tandem::kern {

/// The result from the float accumulator: round half to even, saturate.
/// Zero weights are skipped on both devices (as OpenCV's filter engine does),
/// so a NaN or inf in f32 input only spreads through non-zero taps.
template <class T>
TANDEM_HD T filter_finish(float acc) {
  return saturate<T>(acc);
}

}  // namespace tandem::kern

namespace tandem::cuda {
/// Queues the correlation on `stream` (a cudaStream_t); src, dst and the kernel
/// validated by the caller.
Status filter(const View& src, const View& dst, const FilterParams& p, void* stream);
}  // namespace tandem::cuda
