/// @file invert.hpp
/// @brief Photographic negative: the type's maximum minus each value.
#pragma once

#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief invert takes no parameters.
struct InvertParams {};

/// @brief dst = max - src per element: 255 - x (u8, = cv2.bitwise_not), 65535 - x (u16),
///        1 - x (f32, images normalised to [0, 1]; computed in float, NaN stays NaN).
///        Exact. Accepts u8, u16, f32 with 1, 3 or 4 channels (alpha is inverted too).
/// @param dst preallocated image of src's dtype and shape on src's device; row padding
///            allowed; may be src itself (in place), other overlaps are undefined.
Status invert(const View& src, const View& dst, const InvertParams& p, const Exec& exec);
/// @brief As above; allocates dst (packed) on exec.device.
Status invert(const View& src, Tensor& dst, const InvertParams& p, const Exec& exec);

}  // namespace tandem

#pragma GCC visibility pop
