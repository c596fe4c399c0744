// Overflow-safe shape arithmetic: the one place where element counts, byte
// counts and strides of a shape are computed from untrusted numbers (file
// headers, parameters, API callers). Every producer of shapes goes through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tandem::detail {

/// a * b into `out`; false (out unchanged) when it does not fit in int64.
inline bool checked_mul(std::int64_t a, std::int64_t b, std::int64_t& out) noexcept {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return false;
  out = r;
  return true;
}

/// a + b into `out`; false (out unchanged) when it does not fit in int64.
inline bool checked_add(std::int64_t a, std::int64_t b, std::int64_t& out) noexcept {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return false;
  out = r;
  return true;
}

/// What a shape spans.
struct ShapeExtent {
  std::int64_t numel = 0;  ///< element count (0 when any dimension is 0)
  std::int64_t bytes = 0;  ///< numel * elem_size
};

/// Checks a C- or Fortran-order shape of `elem_size`-byte elements: no
/// dimension negative, and the byte stride of every dimension fits in int64.
/// A dimension of 0 does not excuse the others: (0, 2^40, 2^40) holds nothing,
/// but its outer stride would be 2^80 bytes. So the product of all dimensions,
/// each counted as at least 1, times elem_size must fit. False when it does not.
inline bool shape_extent(std::span<const std::int64_t> shape, std::size_t elem_size, ShapeExtent& out) noexcept {
  if (elem_size == 0 || elem_size > std::size_t(INT64_MAX)) return false;
  std::int64_t span = static_cast<std::int64_t>(elem_size);  // bytes, zeros counted as 1
  bool empty = false;
  for (const std::int64_t d : shape) {
    if (d < 0) return false;
    if (d == 0) empty = true;
    if (!checked_mul(span, d == 0 ? 1 : d, span)) return false;
  }
  const auto es = static_cast<std::int64_t>(elem_size);
  out.numel = empty ? 0 : span / es;
  out.bytes = empty ? 0 : span;
  return true;
}

}  // namespace tandem::detail
