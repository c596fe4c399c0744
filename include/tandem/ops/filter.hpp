/// @file filter.hpp
/// @brief 2-D correlation with an arbitrary odd-sized kernel, equal to cv2.filter2D.
#pragma once

#include "tandem/border.hpp"
#include "tandem/device.hpp"
#include "tandem/op_table.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Parameters of filter().
///
/// dst(y, x) = sum over i, j of kernel(i, j) * src(y + i - rows/2, x + j - cols/2):
/// correlation (the kernel is not flipped), anchored at the kernel's centre,
/// no delta, then rounded half to even and saturated to the dtype.
struct FilterParams {
  Matrix kernel;                      ///< rows x cols weights, both odd, at most kFilterMaxTaps in all
  Border border = Border::reflect101; ///< how pixels outside the image are made up
  double value = 0;                   ///< the outside value for Border::constant (saturated to the dtype)
};

/// Most kernel elements filter() accepts (e.g. 63 x 63, or 1 x 4095).
inline constexpr int kFilterMaxTaps = 4096;
/// Largest kernel weight magnitude filter() accepts (weights are used as float).
inline constexpr double kFilterMaxWeight = 1e30;

/// @brief Correlates an image (u8, u16 or f32 with 1, 3 or 4 channels)
///        with `p.kernel` into a preallocated dst of the same dtype
///        and shape on the same device. Every channel is filtered independently.
Status filter(const View& src, const View& dst, const FilterParams& p, const Exec& exec);
/// @brief Same, allocating dst on exec.device.
Status filter(const View& src, Tensor& dst, const FilterParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
