// Sort: the order-preserving key transform shared by the CPU radix sort and the
// CUDA NaN canonicalisation, and the CUDA launcher's declaration. Compiled by
// g++ and nvcc; no cuda_runtime.h here.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/common.cuh"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

namespace tandem::kern {

/// Replaces every NaN (any sign, any payload) with the canonical positive quiet
/// NaN. Its bit pattern is above +inf's, so an unsigned-key radix sort (CUB's
/// or ours) puts it after +inf, i.e. last, as NumPy does; a negative NaN would
/// otherwise sort first.
template <class T>
TANDEM_HD T canonical_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    if (v != v) return std::numeric_limits<T>::quiet_NaN();
  }
  return v;
}

template <class T, class K>
TANDEM_HD K bits_of(T v) {
  K k;
  __builtin_memcpy(&k, &v, sizeof(K));
  return k;
}
template <class K, class T>
TANDEM_HD T from_bits(K k) {
  T v;
  __builtin_memcpy(&v, &k, sizeof(T));
  return v;
}

/// An unsigned key whose unsigned order is NumPy's sort order of T:
/// signed integers flip the sign bit; floats flip the sign bit of positives
/// and all bits of negatives (so -0.0 < +0.0, harmlessly), and NaN maps to the
/// key of the canonical quiet NaN, above +inf. from_key inverts to_key (NaNs
/// come back canonical).
template <class T> struct SortKey;

template <> struct SortKey<std::uint8_t> {
  using Key = std::uint8_t;
  static TANDEM_HD Key to_key(std::uint8_t v) { return v; }
  static TANDEM_HD std::uint8_t from_key(Key k) { return k; }
};
template <> struct SortKey<std::uint16_t> {
  using Key = std::uint16_t;
  static TANDEM_HD Key to_key(std::uint16_t v) { return v; }
  static TANDEM_HD std::uint16_t from_key(Key k) { return k; }
};
template <> struct SortKey<std::int32_t> {
  using Key = std::uint32_t;
  static TANDEM_HD Key to_key(std::int32_t v) { return static_cast<Key>(v) ^ 0x80000000u; }
  static TANDEM_HD std::int32_t from_key(Key k) { return static_cast<std::int32_t>(k ^ 0x80000000u); }
};
template <> struct SortKey<std::int64_t> {
  using Key = std::uint64_t;
  static constexpr Key kSign = Key(1) << 63;
  static TANDEM_HD Key to_key(std::int64_t v) { return static_cast<Key>(v) ^ kSign; }
  static TANDEM_HD std::int64_t from_key(Key k) { return static_cast<std::int64_t>(k ^ kSign); }
};

template <class F, class K>
struct FloatSortKey {
  using Key = K;
  static constexpr K kSign = K(1) << (sizeof(K) * 8 - 1);
  static TANDEM_HD Key to_key(F v) {
    const K b = bits_of<F, K>(canonical_nan(v));
    return (b & kSign) ? K(~b) : K(b | kSign);
  }
  static TANDEM_HD F from_key(Key k) { return from_bits<K, F>((k & kSign) ? K(k & ~kSign) : K(~k)); }
};
template <> struct SortKey<float> : FloatSortKey<float, std::uint32_t> {};
template <> struct SortKey<double> : FloatSortKey<double, std::uint64_t> {};

}  // namespace tandem::kern

namespace tandem::cuda {

/// Sorts the rows of `src` (any strides) into the contiguous `dst` on `stream`.
Status sort(const View& src, const View& dst, void* stream);

}  // namespace tandem::cuda
