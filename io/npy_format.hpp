// The .npy format itself, shared by io/npy.cpp (whole arrays, chunked
// reads, streamed writes) and io/npy_format.cpp: the header's Python-literal
// dictionary, NumPy dtype descriptors, the lossless conversions from the
// file's type to tandem's, and the prelude tandem writes.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/io/npy.hpp"
#include "tandem/status.hpp"

namespace tandem::io::npy_format {

inline constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
inline constexpr std::size_t kMaxHeaderBytes = std::size_t(1) << 20;
inline constexpr std::size_t kChunkBytes = std::size_t(1) << 20;  // scratch for converting reads
inline constexpr bool kHostLittle = std::endian::native == std::endian::little;

/// A format_error naming the file.
Status format_error(std::string_view name, const std::string& why);

/// The element type as the file stores it.
struct FileType {
  char kind = 'u';   // b, i, u, f
  std::size_t size = 1;
  bool swap = false;
};

/// True when elements of the file's type must be converted (widened or byte-swapped) to `t`.
bool needs_conversion(const FileType& ft, DType t);
/// Converts `count` elements stored as `ft` at `src` into `t` at `dst`.
void convert(const unsigned char* src, std::size_t count, const FileType& ft, DType t, void* dst);
void byteswap_inplace(void* data, std::size_t count, std::size_t size);
/// The FileType of a parsed header.
FileType file_type_of(const NpyHeader& h);
/// dst (C order, `shape`) <- src holding the same elements in column-major order.
void fortran_to_c(const void* src, void* dst, const std::vector<std::int64_t>& shape, std::size_t es);

/// The header dictionary tandem writes for an array of `t` and `shape`;
/// `first_dim`, when not empty, is written instead of shape[0] (a placeholder
/// a streamed write fills in at the end).
std::string dict_text(DType t, std::span<const std::int64_t> shape, const std::string& first_dim);
/// The full prelude (magic, version, length, dict, padding, '\n'), padded to
/// `min_total` bytes and to a multiple of 64; empty if impossible.
std::string make_prelude(const std::string& dict, std::size_t min_total);

}  // namespace tandem::io::npy_format
