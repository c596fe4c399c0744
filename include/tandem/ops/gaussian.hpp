/// @file gaussian.hpp
/// @brief Separable Gaussian blur, equal to cv2.GaussianBlur.
#pragma once

#include "tandem/border.hpp"
#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Parameters of gaussian().
///
/// The aperture is 2*radius+1 taps in each direction. radius = 0 picks it from
/// sigma as OpenCV does for cv2.GaussianBlur(img, (0,0), sigma):
/// ksize = cvRound(sigma * (u8 ? 3 : 4) * 2 + 1) | 1. sigma = 0 with radius > 0
/// derives sigma from the aperture as cv::getGaussianKernel does (including
/// its fixed tables for 3, 5 and 7 taps).
struct GaussianParams {
  double sigma = 1;                   ///< standard deviation in pixels, >= 0 (0 needs radius > 0)
  int radius = 0;                     ///< half aperture, 0 = automatic from sigma
  Border border = Border::reflect101; ///< how pixels outside the image are made up
  double value = 0;                   ///< the outside value for Border::constant (saturated to the dtype)
};

/// Largest half aperture gaussian() accepts (explicit or automatic).
inline constexpr int kGaussianMaxRadius = 512;

/// @brief Gaussian blur of an image (u8, u16 or f32 with 1, 3 or 4 channels)
///        into a preallocated dst of the same dtype and shape on the same device. Every channel is filtered independently.
Status gaussian(const View& src, const View& dst, const GaussianParams& p, const Exec& exec);
/// @brief Same, allocating dst on exec.device.
Status gaussian(const View& src, Tensor& dst, const GaussianParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
