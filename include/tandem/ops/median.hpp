/// @file median.hpp
/// @brief Median filter over a square window (cv2.medianBlur).
#pragma once

#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Parameters of median().
struct MedianParams {
  int size = 3;  ///< window side K (odd); 1 copies the image
};

/// @brief Largest window side median() accepts for u8 images.
inline constexpr int kMedianMaxSizeU8 = 255;
/// @brief Largest window side median() accepts for u16 and f32 images.
inline constexpr int kMedianMaxSizeWide = 99;

/// @brief Per channel, the exact median of the K x K window around each pixel,
///        pixels outside the image replicating the nearest edge pixel
///        (= cv2.medianBlur(img, K) wherever OpenCV supports the input).
///
/// Accepts u8 (K odd, 1..255), u16 and f32 (K odd, 1..99; OpenCV stops at 5
/// for these), each with 1, 3 or 4 channels. The median of an f32
/// window holding NaN is unspecified (it is always one of the window's values
/// or NaN); -0 and +0 compare equal. `dst` must have src's dtype and shape, live
/// on exec.device and not overlap src.
Status median(const View& src, const View& dst, const MedianParams& p, const Exec& exec);
/// @brief As above, allocating `dst` (packed rows) on exec.device.
Status median(const View& src, Tensor& dst, const MedianParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
