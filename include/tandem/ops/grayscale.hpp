/// @file grayscale.hpp
/// @brief RGB(A) to luma, as cv2.cvtColor(img, cv2.COLOR_RGB2GRAY / COLOR_RGBA2GRAY).
#pragma once

#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief grayscale takes no parameters.
struct GrayscaleParams {};

/// @brief BT.601 luma of an RGB or RGBA image (channel order R, G, B; alpha ignored).
///
/// u8 and u16 use OpenCV 4's fixed point exactly:
/// Y = (9798*R + 19235*G + 3735*B + 2^14) >> 15 (weights 0.299/0.587/0.114 scaled by 2^15;
/// the blue weight is 3735 rather than round(0.114*2^15) = 3736 so they sum to 2^15, hence
/// Y <= the type max). f32: Y = 0.299f*R + 0.587f*G + 0.114f*B in float, evaluated left to
/// right without FMA on both devices (OpenCV's AVX2 path fuses; results agree within 1 ulp).
/// A 1-channel image is copied unchanged. Output: H x W (rank 2), same dtype.
/// Accepts u8, u16, f32 with 1, 3 or 4 channels.
/// @param dst preallocated H x W (or H x W x 1) image of src's dtype on src's device; row
///            padding allowed. Must not overlap src.
Status grayscale(const View& src, const View& dst, const GrayscaleParams& p, const Exec& exec);
/// @brief As above; allocates dst (H x W, packed) on exec.device.
Status grayscale(const View& src, Tensor& dst, const GrayscaleParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
