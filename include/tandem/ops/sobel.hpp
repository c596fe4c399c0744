/// @file sobel.hpp
/// @brief Sobel gradient magnitude of an image.
#pragma once

#include "tandem/border.hpp"
#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Parameters of sobel().
struct SobelParams {
  Border border = Border::reflect101;  ///< how pixels outside the image are made up
  double value = 0;  ///< the outside value for Border::constant, saturated to the image dtype
};

/// @brief Per channel, sqrt(gx^2 + gy^2) of the 3x3 Sobel derivatives
///        (cv2.Sobel(img, CV_32F, 1, 0, ksize=3) and (0, 1)), computed in float,
///        rounded half to even and saturated to the input dtype.
///
/// Accepts u8, u16 and f32 with 1, 3 or 4 channels. `dst` must
/// have src's dtype and shape, live on exec.device and not overlap src; rows of
/// either may be padded. On CUDA the work is queued on exec.stream.
Status sobel(const View& src, const View& dst, const SobelParams& p, const Exec& exec);
/// @brief As above, allocating `dst` (packed rows) on exec.device.
Status sobel(const View& src, Tensor& dst, const SobelParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
