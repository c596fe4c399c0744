// Internal interface between io/codec.cpp (format detection, limits,
// allocation) and the per-format codecs (io/png.cpp, io/jpeg.cpp, io/pnm.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/io/npy.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

namespace tandem::io::detail {

/// What an image header says the decoded pixels will be.
struct ImageHeader {
  DType dtype = DType::u8;
  std::int64_t height = 0, width = 0, channels = 0;
};

/// Called once the header is known: checks limits and supplies the host view
/// to decode into (matching dtype/height/width/channels, packed pixels).
/// With `header_only`, codecs stop after calling it (dst is not used).
using DstFn = std::function<Status(const ImageHeader&, View& dst)>;

Status png_decode(std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                  const DstFn& get_dst);
Status png_encode(const View& img, int level, std::vector<std::byte>& out);

/// With `apply_orientation`, the EXIF orientation (APP1) is applied as
/// OpenCV's imread does: the header reports the oriented size.
Status jpeg_decode(std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                   const DstFn& get_dst, bool apply_orientation);
Status jpeg_encode(const View& img, int quality, std::vector<std::byte>& out);

Status pnm_decode(std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                  const DstFn& get_dst);
/// P5 for one channel, P6 for three.
Status pnm_encode(const View& img, std::vector<std::byte>& out);

/// What a TIFF header says beyond the image: its pages and the page's compression.
struct TiffInfo {
  int pages = 1;
  int compression = 1;
};
/// Decodes page `page`; `info` (if given) receives the pages and compression.
Status tiff_decode(std::span<const std::byte> bytes, std::string_view name, int page, bool header_only,
                   const DstFn& get_dst, TiffInfo* info = nullptr);
/// `compression`: libtiff's code (COMPRESSION_*).
Status tiff_encode(const View& img, int compression, std::vector<std::byte>& out);

/// Fills a contiguous host view of the header's dtype and shape from in-memory NPY bytes.
Status npy_decode_into(std::span<const std::byte> bytes, std::string_view name, const NpyHeader& h,
                       const View& dst);

/// "'name'"
std::string quoted(std::string_view name);

}  // namespace tandem::io::detail
