// Box filter: the window and rounding rules (shared by the OpenMP and the
// CUDA implementation) and the CUDA launcher's declaration. Compiles with g++.
#pragma once

#include "kernels/common.cuh"
#include "tandem/ops/box.hpp"

namespace tandem::kern {

/// Pixels the K-wide window reaches before and after its output pixel. OpenCV's
/// default anchor is K/2, so an even window reaches one further back than forward.
TANDEM_HD int box_before(int k) { return k / 2; }
TANDEM_HD int box_after(int k) { return k - 1 - k / 2; }

/// The mean from an exact window sum: one correctly rounded division, then
/// round half to even and saturate (so integer results are exact).
template <class T>
TANDEM_HD T box_finish(double sum, double area) {
  return saturate<T>(sum / area);
}

}  // namespace tandem::kern

namespace tandem::cuda {
/// Queues the filter on `stream` (a cudaStream_t); src and dst validated by the caller.
Status box(const View& src, const View& dst, const BoxParams& p, void* stream);
}  // namespace tandem::cuda
