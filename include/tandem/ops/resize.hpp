/// @file resize.hpp
/// @brief Bilinear resize (cv2.resize with INTER_LINEAR).
#pragma once

#include <cstdint>

#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Parameters of resize(): the output size.
struct ResizeParams {
  std::int64_t width = 0;   ///< output width W >= 1 (0 with a preallocated dst: dst's width)
  std::int64_t height = 0;  ///< output height H >= 1 (0 with a preallocated dst: dst's height)
};

/// @brief Largest output side resize() accepts.
inline constexpr std::int64_t kResizeMaxSide = std::int64_t(1) << 20;

/// @brief Bilinear resampling with half-pixel centres, as cv2.resize(img, (W, H),
///        interpolation=INTER_LINEAR): source x = (dx + 0.5) * (src_w / W) - 0.5
///        (computed in double, then rounded to float), x0 = floor(x), weight x - x0;
///        x0 < 0 becomes 0 and x0 >= src_w - 1 becomes src_w - 1, both with weight 0;
///        likewise in y. No antialiasing on downscale.
///
/// u8 uses 11-bit fixed-point weights (like OpenCV) and rounds to nearest; u16
/// and f32 interpolate in float (u16 rounds half to even and saturates).
/// Accepts u8, u16 and f32 with 1, 3 or 4 channels. `dst` must be H x W x C of
/// src's dtype on exec.device (p.width / p.height, when not 0, must match it)
/// and must not overlap src.
Status resize(const View& src, const View& dst, const ResizeParams& p, const Exec& exec);
/// @brief Allocates an H x W x C `dst` (packed rows) on exec.device and resizes into it.
Status resize(const View& src, Tensor& dst, const ResizeParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
