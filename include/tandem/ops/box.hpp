/// @file box.hpp
/// @brief Normalised box filter (mean over a K x K window), equal to cv2.blur.
#pragma once

#include "tandem/border.hpp"
#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Parameters of box().
///
/// The window of output pixel (y, x) covers rows y - K/2 .. y - K/2 + K - 1 and
/// the same columns (OpenCV's default anchor, also for even K).
struct BoxParams {
  int size = 3;                       ///< K, the window side, 1..kBoxMaxSize
  Border border = Border::reflect101; ///< how pixels outside the image are made up
  double value = 0;                   ///< the outside value for Border::constant (saturated to the dtype)
};

/// Largest window side box() accepts.
inline constexpr int kBoxMaxSize = 2047;

/// @brief Mean of every K x K window of an image (u8, u16 or f32 with 1, 3 or
///        4 channels) into a preallocated dst of the same dtype and shape on the
///        same device.
Status box(const View& src, const View& dst, const BoxParams& p, const Exec& exec);
/// @brief Same, allocating dst on exec.device.
Status box(const View& src, Tensor& dst, const BoxParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
