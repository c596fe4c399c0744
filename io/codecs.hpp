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

#include "tandem/io/codec.hpp"
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

/// Keeps a metadata block read from a file in `slot` when it is at most
/// kMaxMetadataBytes, else leaves it out with a note in meta.dropped.
void keep_metadata(std::span<const std::byte> block, const char* what, std::vector<std::byte>& slot, Metadata& meta);

/// The EXIF orientation (1..8) in IFD0 of `exif` (a TIFF structure), 1 when
/// there is none or it cannot be read.
int exif_orientation(std::span<const std::byte> exif);

/// In-place corrections of an EXIF block (0 / false: leave as is).
struct ExifEdit {
  int orientation = 0;
  std::int64_t width = 0, height = 0;  // ImageWidth/ImageLength and PixelXDimension/PixelYDimension
  bool drop_thumbnail = false;         // unlink IFD1 (a thumbnail of the input's pixels)
};
/// Applies `edit` to the fields that exist; false when `exif` is not a
/// readable TIFF structure (nothing is changed then).
bool exif_edit(std::span<std::byte> exif, const ExifEdit& edit);

/// Whether an ICC profile's colour space (GRAY, RGB) matches an image of `channels`.
bool icc_fits_channels(std::span<const std::byte> icc, std::int64_t channels);

Status png_decode(std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                  const DstFn& get_dst, Metadata* meta = nullptr);
/// `meta`: blocks already checked (codec.cpp's encode), written as iCCP and eXIf.
Status png_encode(const View& img, int level, const Metadata& meta, std::vector<std::byte>& out);

/// With `apply_orientation`, the EXIF orientation (APP1) is applied as
/// OpenCV's imread does: the header reports the oriented size, and the EXIF
/// kept in `meta` says orientation 1.
Status jpeg_decode(std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                   const DstFn& get_dst, bool apply_orientation, Metadata* meta = nullptr);
/// `meta` is written as APP1 (EXIF) and APP2 (ICC, over as many segments as it needs).
Status jpeg_encode(const View& img, int quality, const Metadata& meta, std::vector<std::byte>& out);

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
                   const DstFn& get_dst, TiffInfo* info = nullptr, Metadata* meta = nullptr);
/// `compression`: libtiff's code (COMPRESSION_*); `meta.icc` goes in the ICC profile tag.
Status tiff_encode(const View& img, int compression, const Metadata& meta, std::vector<std::byte>& out);

/// Fills a contiguous host view of the header's dtype and shape from in-memory NPY bytes.
Status npy_decode_into(std::span<const std::byte> bytes, std::string_view name, const NpyHeader& h,
                       const View& dst);

/// "'name'"
std::string quoted(std::string_view name);

}  // namespace tandem::io::detail
