// Helpers for the array ops (sort, cumsum): an N-d view seen as a stack of
// rows along its last axis, with arbitrary strides.
#pragma once

#include <cstdint>

#include "tandem/tensor.hpp"

namespace tandem::detail {

/// Length of the last axis (1 for a 0-d view).
inline std::int64_t row_length(const View& v) noexcept { return v.ndim ? v.shape[v.ndim - 1] : 1; }

/// Byte stride between consecutive elements of a row.
inline std::int64_t elem_stride(const View& v) noexcept {
  return v.ndim ? v.strides[v.ndim - 1] : static_cast<std::int64_t>(v.elem_size());
}

/// Byte offset of row `r` (the C-order index over all axes but the last).
inline std::int64_t row_offset(const View& v, std::int64_t r) noexcept {
  std::int64_t off = 0;
  for (int d = v.ndim - 2; d >= 0; --d) {
    off += (r % v.shape[d]) * v.strides[d];
    r /= v.shape[d];
  }
  return off;
}

}  // namespace tandem::detail
