/// @file sort.hpp
/// @brief Sorting along the last axis, as np.sort(a) (axis=-1).
#pragma once

#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Parameters of sort. There are none yet: the order is always ascending
///        along the last axis (NumPy's default axis=-1).
struct SortParams {};

/// @brief Sorts every row (all indices but the last fixed) of `src` ascending into `dst`.
///
/// Equals np.sort(a) for u8, u16, i32, i64, f32 and f64. Float NaNs (of any sign
/// or payload) sort to the end of their row, as in NumPy, and are written as the
/// canonical quiet NaN; -0.0 and +0.0 compare equal, so their relative order in
/// the result is unspecified (the CPU puts -0.0 first). Inputs of rank >= 1 only.
///
/// `dst` must have the dtype and shape of `src` and be on the same device; `src`
/// may have any strides. On the CPU `dst` may be strided too and may alias
/// `src` exactly (in-place sort); on CUDA `dst` must be contiguous (it may also
/// be `src`). CPU: rows are sorted in parallel (OpenMP, Exec::threads); a single
/// long row (or a few) is sorted with a parallel LSD radix sort. CUDA: CUB
/// DeviceRadixSort (one row) or DeviceSegmentedSort (several rows) on exec.stream.
Status sort(const View& src, const View& dst, const SortParams& p, const Exec& exec);

/// @brief As above, allocating `dst` (same dtype and shape as `src`) on exec.device.
Status sort(const View& src, Tensor& dst, const SortParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
