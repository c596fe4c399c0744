// Validation shared by the image -> image ops (sobel, median, resize): every
// failure is a Status whose message names the op and the reason.
#pragma once

#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "host/ops/image_op.hpp"
#include "tandem/device.hpp"
#include "tandem/dtype.hpp"
#include "tandem/op_table.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

namespace tandem::detail {

inline Status op_error(std::string_view op, Errc code, const std::string& why) {
  return {code, std::string(op) + ": " + why};
}

/// Bytes [first, last) a view touches (rows may be padded).
inline void view_extent(const View& v, const char*& first, const char*& last) {
  first = static_cast<const char*>(v.data);
  std::int64_t span = static_cast<std::int64_t>(v.elem_size());
  for (int i = 0; i < v.ndim; ++i) span += (v.shape[i] - 1) * v.strides[i];
  last = first + span;
}

inline bool views_overlap(const View& a, const View& b) {
  if (!a.data || !b.data || !(a.device == b.device)) return false;
  const char *a0, *a1, *b0, *b1;
  view_extent(a, a0, a1);
  view_extent(b, b0, b1);
  return a0 < b1 && b0 < a1;
}

/// Rows start on element boundaries (the GPU cannot load misaligned elements).
inline bool rows_aligned(const View& v) {
  const auto es = static_cast<std::int64_t>(v.elem_size());
  return reinterpret_cast<std::uintptr_t>(v.data) % es == 0 && v.strides[0] % es == 0;
}

/// Checks what every image op needs of its input: an image (packed pixels,
/// rows maybe padded) in one of `spec`'s layouts, not empty, sides that fit in
/// int, on exec.device, and a stream for CUDA.
inline Status check_image_input(const OpSpec& spec, const View& src, const Exec& exec) {
  const std::string_view op = spec.name;
  TANDEM_TRY(check_input(spec, src));
  if (!src.data) return op_error(op, Errc::invalid_argument, "input is empty (" + src.describe() + ")");
  if (!rows_aligned(src)) return op_error(op, Errc::invalid_argument, "input rows must start on element boundaries");
  if (src.height() > INT_MAX || src.width() > INT_MAX || src.width() * src.channels() > INT_MAX)
    return op_error(op, Errc::invalid_argument, "image too large (" + src.describe() + ")");
  if (!(src.device == exec.device))
    return op_error(op, Errc::invalid_argument, "input is on " + src.device.str() + " but the op runs on " + exec.device.str());
  if (exec.device.is_cuda() && !exec.stream)
    return op_error(op, Errc::invalid_argument, "a CUDA stream is required to run on " + exec.device.str());
  return {};
}

/// Checks a preallocated output: src's dtype and channels, `h` x `w`, on
/// exec.device, packed pixels, not overlapping src.
inline Status check_image_output(std::string_view op, const View& src, const View& dst, std::int64_t h,
                                 std::int64_t w, const Exec& exec) {
  if (!dst.is_image() || dst.dtype != src.dtype || dst.height() != h || dst.width() != w ||
      dst.channels() != src.channels() || !dst.data) {
    std::string want = "output must be ";
    want += dtype_name(src.dtype);
    want += ' ';
    want += std::to_string(h);
    want += 'x';
    want += std::to_string(w);
    if (src.channels() > 1) {
      want += 'x';
      want += std::to_string(src.channels());
    }
    want += " with packed pixels; got ";
    want += dst.describe();
    return op_error(op, Errc::invalid_argument, want);
  }
  if (!(dst.device == exec.device))
    return op_error(op, Errc::invalid_argument, "output is on " + dst.device.str() + " but the op runs on " + exec.device.str());
  if (!rows_aligned(dst)) return op_error(op, Errc::invalid_argument, "output rows must start on element boundaries");
  if (views_overlap(src, dst)) return op_error(op, Errc::invalid_argument, "output overlaps the input (in-place is not supported)");
  return {};
}

/// An output of the input's size (sobel, median).
inline Status check_same_size_output(const OpSpec& spec, const View& src, const View& dst, const Exec& exec) {
  return check_image_output(spec.name, src, dst, src.height(), src.width(), exec);
}

/// The checks of the image ops whose output has the input's size, dtype and channels (sobel, median).
inline constexpr ImageChecks kSameSizeImageChecks{.src = check_image_input, .dst = check_same_size_output};

}  // namespace tandem::detail
