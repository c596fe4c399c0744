// cumsum: the accumulator and output types and the conversions, shared by the
// OpenMP scan and the CUB scan; and the CUDA launcher's declaration. Compiled
// by g++ and nvcc; no cuda_runtime.h here.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/common.cuh"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

namespace tandem::kern {

/// Integers accumulate in uint64 (so overflow wraps modulo 2^64, well defined,
/// as NumPy's int64 sums do) and are written as int64; f32 accumulates in
/// double and each prefix is rounded once to f32; f64 stays f64.
template <class T>
struct CumsumTypes {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::uint64_t>;
  using Out = std::conditional_t<std::is_floating_point_v<T>, T, std::int64_t>;
};

/// Input element -> accumulator (negative integers become their 2^64 complement).
template <class T>
struct CumsumLoad {
  TANDEM_HD typename CumsumTypes<T>::Acc operator()(T v) const {
    return static_cast<typename CumsumTypes<T>::Acc>(v);
  }
};

/// Accumulator -> output element (uint64 -> int64 is modular since C++20).
template <class T>
TANDEM_HD typename CumsumTypes<T>::Out cumsum_store(typename CumsumTypes<T>::Acc a) {
  return static_cast<typename CumsumTypes<T>::Out>(a);
}

}  // namespace tandem::kern

namespace tandem::cuda {

/// Inclusive prefix sums of `src` (any strides, C order) into the contiguous 1-D `dst` on `stream`.
Status cumsum(const View& src, const View& dst, void* stream);

}  // namespace tandem::cuda
