/// @file stats.hpp
/// @brief Summary statistics of an array: count, sum, min, max, mean, std.
///
/// The reference is NumPy on a.astype(np.float64), with a numerically stable
/// variance: sums around a shift near the data, merged with Chan's parallel
/// formula, so inputs with a large mean and small spread keep their precision
/// (NumPy's default for f32 accumulates in f32 and loses it). Accumulation is
/// in float64, except for float32 input on the CPU: short blocks are summed in
/// float32 lanes around a shift sampled from the block and converted to
/// float64 per block; blocks where that would lose accuracy, and sums that
/// cancel, are redone in float64, so sum, mean and std stay within 1e-5
/// relative (typically ~1e-9). u8 input on the CPU is summed exactly in
/// integers.
/// std is the population standard deviation (ddof = 0).  NaN anywhere makes
/// sum, min, max, mean and std NaN (as NumPy); an infinity gives the IEEE
/// results NumPy gives (sum/mean +-inf, std nan).  count is the number of
/// elements.  Integers are converted to f64 exactly (i64 beyond 2^53 rounds).
#pragma once

#include <cstdint>

#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief The statistics, as the host-side convenience returns them.
struct Stats {
  std::int64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double std = 0;  ///< population standard deviation (ddof = 0)
};

/// @brief Order of the values in the f64 [6] tensor stats() writes.
inline constexpr const char* kStatsOutputs[6] = {"count", "sum", "min", "max", "mean", "std"};

/// @brief Writes {count, sum, min, max, mean, std} into dst, an f64 tensor of
///        shape [6] on exec.device.  src: any dtype, any shape, contiguous, not
///        empty.  On CUDA the work is queued on exec.stream (no synchronisation).
Status stats(const View& src, const View& dst, const Exec& exec);
/// @brief Allocates dst (f64 [6]) on exec.device and writes the statistics.
Status stats(const View& src, Tensor& dst, const Exec& exec);
/// @brief Computes the statistics on exec.device and returns them on the host;
///        synchronizes exec.stream on CUDA.
Status stats(const View& src, Stats& out, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
