/// @file histogram.hpp
/// @brief Equal-width histogram with np.histogram's exact binning.
///
/// histogram(a, bins=N, min, max) = np.histogram(a, bins=N, range=(min, max))[0]:
///  - the range defaults to [a.min(), a.max()]; a constant range [v, v] becomes
///    [v - 0.5, v + 0.5]; an autodetected range with NaN or inf is an error (as
///    NumPy); an empty input with no range uses [0, 1];
///  - edges = np.linspace(min, max, N + 1) computed in f64 (i * step + min, the
///    last edge = max); bin i holds edges[i] <= x < edges[i+1], the last bin also
///    holds x == max; values outside [min, max] and NaN are not counted;
///  - the bin index is NumPy's: (x - min) * (N / (max - min)) truncated, then
///    one decrement/increment step against the edges, so values exactly on an
///    edge land where NumPy puts them;
///  - f32 input: NumPy's bin dtype is then f32 (np.result_type(range, a)), so the
///    edges and range bounds are the f64 values rounded to f32 and comparisons
///    are those of f32 values; f64 and integer input compare in f64.
/// Parity with NumPy (checked against NumPy 1.24 golden files) is exact except
/// for pathological bin counts where bins are narrower than the input's
/// precision: NumPy's f32 first guess can then be off by more than one bin.
/// (NumPy 2 computes the linspace of an autodetected f32 range in f32, so
/// its f32 edges may differ from 1.24's in the last bit.)
/// Counts are i64.  On CUDA: shared-memory privatised atomics with the same
/// bin function; with an explicit range nothing waits on the host, with an
/// autodetected range the min/max are read back once (one stream
/// synchronisation) so that a non-finite range is reported like NumPy.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

struct HistogramParams {
  std::int64_t bins = 10;     ///< number of equal-width bins, >= 1
  std::optional<double> min;  ///< lower end of the range; give both min and max, or neither
  std::optional<double> max;  ///< upper end of the range (>= min)
};

/// @brief Writes the counts into dst, an i64 tensor of shape [bins] on exec.device.
///        src: any dtype, any shape, contiguous.
Status histogram(const View& src, const View& dst, const HistogramParams& p, const Exec& exec);
/// @brief Allocates dst (i64 [bins]) on exec.device and writes the counts.
Status histogram(const View& src, Tensor& dst, const HistogramParams& p, const Exec& exec);

/// @brief The bins + 1 edges (f64, on the host) that histogram(src, p) uses:
///        np.histogram(src, bins, range)[1], converted to f64 for f32 input.
///        src is read only when the range is autodetected (then, on CUDA, this
///        synchronizes exec.stream).
Status histogram_edges(const View& src, const HistogramParams& p, std::vector<double>& edges,
                       const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
