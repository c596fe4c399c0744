/// @file threshold.hpp
/// @brief Binary threshold, as cv2.threshold(img, T, maxval, cv2.THRESH_BINARY)
///        with maxval the type's maximum.
#pragma once

#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

struct ThresholdParams {
  double value = 127;  ///< T; any non-NaN double (infinities allowed)
};

/// @brief dst = src > T ? max : 0 per element, with max = 255 (u8), 65535 (u16), 1.0 (f32:
///        images are taken as normalised to [0, 1]).
///
/// Integer types compare against floor(T), as OpenCV does (cvFloor): T = 127.5 behaves as 127,
/// T = -0.5 as -1. floor(T) < 0 gives an all-max image and floor(T) >= max an all-zero one.
/// (OpenCV converts floor(T) to int and overflows for |T| >= 2^31, giving an inverted result;
/// tandem keeps the mathematical comparison there.) f32 compares against float(T) (T rounded
/// to float first, as OpenCV does); NaN pixels become 0. Channels are thresholded
/// independently. Accepts u8, u16, f32 with 1, 3 or 4 channels.
/// @param dst preallocated image of src's dtype and shape on src's device; row padding
///            allowed; may be src itself (in place), other overlaps are undefined.
Status threshold(const View& src, const View& dst, const ThresholdParams& p, const Exec& exec);
/// @brief As above; allocates dst (packed) on exec.device.
Status threshold(const View& src, Tensor& dst, const ThresholdParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
