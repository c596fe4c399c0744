// np.histogram's equal-width binning as one function shared by the OpenMP
// implementation (host/histogram.cpp) and the CUDA kernels
// (kernels/histogram.cu).  Compiled by g++ and nvcc; no cuda_runtime.h here.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/common.cuh"  // mul_rn / add_rn
#include "tandem/tensor.hpp"

namespace tandem::kern {

/// The resolved bins of one histogram call (see host/histogram.cpp: resolve_bins).
/// Member functions are templated on the input element type T: for f32 input
/// NumPy's bin dtype is f32, so the edges are rounded to f32.  (A compile-time
/// choice on purpose: GCC 12.2 -O2 miscompiles a pair of run-time
/// `flag ? double(float(e)) : e` stores through SLP vectorisation.)
struct HistBins {
  double first;    ///< range lower end (after NumPy's [v-0.5, v+0.5] expansion)
  double last;     ///< range upper end
  double delta;    ///< last - first, as np.linspace computes it
  double step;     ///< delta / n, np.linspace's step (0 for denormal ranges)
  double norm;     ///< n / (last - first), NumPy's first-guess scale
  double lo;       ///< edge<T>(0): values below are not counted
  double hi;       ///< edge<T>(n): values above are not counted
  std::int64_t n;  ///< number of bins

  /// Edge i of n + 1, as np.linspace(first, last, n + 1) in f64 (rounded to
  /// f32 for f32 input): i * step + first, each operation rounded, the last edge
  /// exactly `last`.
  template <class T>
  TANDEM_HD double edge(std::int64_t i) const {
    double e;
    if (i >= n) e = last;
    else if (step != 0) e = add_rn(mul_rn(static_cast<double>(i), step), first);
    else e = add_rn(mul_rn(static_cast<double>(i) / static_cast<double>(n), delta), first);  // NumPy gh-5437
    if constexpr (std::is_same_v<T, float>) return static_cast<double>(static_cast<float>(e));
    else return e;
  }

  /// Edge lookup of bin(): edge<T>(i) computed on the fly.
  template <class T>
  struct EdgeOf {
    const HistBins* b;
    TANDEM_HD double operator()(std::int64_t i) const { return b->template edge<T>(i); }
  };

  /// The bin of v, or -1 when v is outside [lo, hi] or NaN.
  template <class T>
  TANDEM_HD std::int64_t bin(T v) const {
    // exact for every input dtype but i64 beyond 2^53 (as NumPy)
    return bin_with(static_cast<double>(v), EdgeOf<T>{this});
  }

  /// bin() of x = double(v) with edge i given by edge_at(i), which must equal
  /// edge<T>(i) (the CPU passes a table of them).
  template <class EdgeAt>
  TANDEM_HD std::int64_t bin_with(double x, EdgeAt edge_at) const {
    // Written as selects on ints, without branches (both edges are always
    // looked up, in range), so that the CPU loop vectorises; the result is that
    // of the plain reading in the comments.
    const int last_bin = static_cast<int>(n - 1);  // n <= 1e8
    const double top = static_cast<double>(last_bin);
    // f = (x - first) * norm truncated toward zero as NumPy's astype(intp),
    // clamped to [0, n - 1] so the edge lookups stay in range even for a wild
    // first guess (and for x outside or NaN, whose result is -1 anyway).
    const double f = mul_rn(x - first, norm);
    double g = f > 0 ? f : 0.0;
    g = g < top ? g : top;
    const int i = static_cast<int>(g);
    // NumPy's one-step correction against the edges; the last bin is closed:
    // if (x < edge(i)) --i; else if (i != n - 1 && x >= edge(i + 1)) ++i;
    const int below = x < edge_at(i) ? 1 : 0;
    const int above = x >= edge_at(i + 1) ? 1 : 0;
    const int k = i - below + (above & (1 - below) & (i != last_bin ? 1 : 0));
    // -1 when x is outside [lo, hi] or NaN.
    const int inside = (x >= lo ? 1 : 0) & (x <= hi ? 1 : 0);
    return inside ? k : -1;
  }
};

}  // namespace tandem::kern

namespace tandem::cuda {

/// Min and max of the data: as f64 and, for integer input, exact.
struct DataMinMax {
  double min = 0;
  double max = 0;
  std::int64_t imin = 0;
  std::int64_t imax = 0;

  /// From the min and max of data of type T.
  template <class T>
  static DataMinMax of(T lo, T hi) {
    DataMinMax r{static_cast<double>(lo), static_cast<double>(hi)};
    if constexpr (std::is_integral_v<T>) {
      r.imin = static_cast<std::int64_t>(lo);
      r.imax = static_cast<std::int64_t>(hi);
    }
    return r;
  }
};

/// Computes the NaN-propagating min and max of src (contiguous, non-empty, on
/// a CUDA device) on `stream` and waits for them (one synchronisation).
Status data_minmax(const View& src, DataMinMax& out, void* stream);

/// Queues the histogram of src into dst (i64 [bins.n], same device) on `stream`.
Status histogram(const View& src, const View& dst, const kern::HistBins& bins, void* stream);

}  // namespace tandem::cuda
