// Inversion rule shared by the OpenMP loop (host/invert.cpp) and the CUDA kernel.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/common.cuh"
#include "kernels/threshold.cuh"  // pixel_max
#include "tandem/ops/invert.hpp"

namespace tandem::kern {

/// max - v: 255 - v, 65535 - v (exact, never wraps), 1.0f - v (one float rounding).
template <class T>
struct InvertOp {
  TANDEM_HD T operator()(T v) const {
    if constexpr (std::is_floating_point_v<T>) return T(1) - v;
    else return static_cast<T>(pixel_max<T>() - v);
  }
};

}  // namespace tandem::kern

namespace tandem::cuda {
/// Queues the inversion on `stream` (src/dst validated by the caller).
Status invert(const View& src, const View& dst, void* stream);
}  // namespace tandem::cuda
