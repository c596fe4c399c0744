/// @file equalize.hpp
/// @brief Histogram equalisation of an 8-bit gray image, as cv2.equalizeHist.
#pragma once

#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief equalize takes no parameters.
struct EqualizeParams {};

/// @brief cv2.equalizeHist, bit for bit.
///
/// With hist the 256-bin histogram, f the first non-empty bin, N the pixel count and
/// cdf(i) = hist[0] + ... + hist[i]: scale = 255.f / float(N - hist[f]) (float), and
/// lut[i] = saturate(rint(float(cdf(i) - hist[f]) * scale)) for i > f, lut[f] = 0 (float
/// arithmetic and round-half-even, as OpenCV). A constant image (hist[f] == N) is returned
/// unchanged (OpenCV fills it with f). Only u8 with 1 channel; at most 2^31 - 1 pixels
/// (OpenCV counts in int). On CUDA the histogram, LUT and mapping all run on the stream.
/// @param dst preallocated u8 image of src's shape on src's device; row padding allowed;
///            may be src itself (in place), other overlaps are undefined.
Status equalize(const View& src, const View& dst, const EqualizeParams& p, const Exec& exec);
/// @brief As above; allocates dst (packed) on exec.device.
Status equalize(const View& src, Tensor& dst, const EqualizeParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
