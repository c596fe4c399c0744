// OpenMP min/max of a whole array with NumPy's NaN propagation, shared by the
// elementwise (normalize) and histogram (autodetected range) stems.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/elementwise.cuh"

namespace tandem {

template <class T>
kern::MinMax<T> cpu_minmax(const T* in, std::int64_t n, int threads) {
  constexpr std::int64_t chunk = std::int64_t(1) << 15;
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  kern::MinMax<T> total = kern::MinMax<T>::identity();
#pragma omp parallel num_threads(threads) if (chunks > 1)
  {
    kern::MinMax<T> mine = kern::MinMax<T>::identity();
#pragma omp for schedule(static) nowait
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t b = c * chunk;
      const std::int64_t e = std::min(n, b + chunk);
      T lo = in[b], hi = in[b];
      int nan = 0;
      // The select form vectorises; NaN is tracked on the side because the
      // vector min/max instructions do not propagate it.
#pragma omp simd reduction(min : lo) reduction(max : hi) reduction(| : nan)
      for (std::int64_t i = b; i < e; ++i) {
        const T v = in[i];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        if constexpr (std::is_floating_point_v<T>) nan |= (v != v);
      }
      if (nan) lo = hi = std::numeric_limits<T>::quiet_NaN();
      mine = kern::MinMaxMerge{}(mine, kern::MinMax<T>{lo, hi});
    }
#pragma omp critical(tandem_cpu_minmax)
    total = kern::MinMaxMerge{}(total, mine);
  }
  return total;
}

}  // namespace tandem
