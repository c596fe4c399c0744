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

/// One field of an EXIF block (or of a TIFF's own directory): its value as
/// stored, in the structure's byte order, `count` values of `type` (TIFF
/// field types 1-13).
struct ExifField {
  unsigned tag = 0, type = 0;
  std::uint32_t count = 0;
  std::span<const std::byte> value;
};
/// The fields an EXIF block carries: IFD0's text fields (ImageDescription,
/// Make, Model, Software, DateTime, Artist, Copyright) and Orientation (0:
/// none), and the EXIF and GPS IFDs whole (pointers inside them left out).
struct ExifFields {
  bool little_endian = true;
  int orientation = 0;
  std::vector<ExifField> ifd0, exif, gps;
};
/// Reads `fields` from a TIFF structure (an EXIF block, or a TIFF file whose
/// page directory is at `ifd0`; 0: the first). Values point into `tiff`.
/// Fields that cannot be read or copied are left out with a note in `notes`;
/// false when `tiff` is not a readable classic TIFF structure.
bool exif_fields(std::span<const std::byte> tiff, std::uint64_t ifd0, ExifFields& fields, std::vector<std::string>& notes);
/// Element `at` (bytes from the start) of `size` bytes of a field's value, in the fields' byte order.
std::uint32_t exif_u32(const ExifFields& fields, std::span<const std::byte> value, std::size_t at, std::size_t size);
/// Writes `fields` as an EXIF block (a TIFF structure in their byte order):
/// false when there is nothing to write or it would exceed kMaxMetadataBytes.
bool build_exif(const ExifFields& fields, std::vector<std::byte>& out);

/// Turns the raw h x w image at `src` into `dst` as a viewer shows EXIF/TIFF
/// orientation `o` (2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90
/// clockwise, 7 transverse, 8 rotate 90 counter-clockwise); `dst` has the
/// turned size (w x h for 5-8). Pixels of `pixel_bytes` bytes are moved whole.
void orient_pixels(const unsigned char* src, std::size_t src_stride, std::int64_t h, std::int64_t w,
                   std::size_t pixel_bytes, int o, const View& dst);

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
/// The largest EXIF block one APP1 segment holds (65533 bytes, less "Exif\0\0").
inline constexpr std::size_t kMaxJpegExifBytes = 65527;
/// `meta` is written as APP1 (EXIF, left out when over kMaxJpegExifBytes) and
/// APP2 (ICC, over as many segments as it needs).
Status jpeg_encode(const View& img, int quality, const Metadata& meta, std::vector<std::byte>& out);

Status pnm_decode(std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                  const DstFn& get_dst);
/// P5 for one channel, P6 for three.
Status pnm_encode(const View& img, std::vector<std::byte>& out);

/// What a TIFF header says beyond the image: its pages and the page's compression.
struct TiffInfo {
  int pages = 1;
  int compression = 1;
  int orientation = 1;  // the orientation the decode applies (1: the pixels as stored)
};
/// Decodes page `page`; `info` (if given) receives the pages and compression.
/// With `apply_orientation`, the page's Orientation tag is applied as for a
/// JPEG's EXIF. `meta` receives the ICC profile and, as an EXIF block, the
/// page's EXIF fields (ExifFields) with Orientation 1 when the pixels were
/// turned, its own value when not.
Status tiff_decode(std::span<const std::byte> bytes, std::string_view name, int page, bool header_only,
                   const DstFn& get_dst, bool apply_orientation, TiffInfo* info = nullptr, Metadata* meta = nullptr);
/// `compression`: libtiff's code (COMPRESSION_*); `meta.icc` goes in the ICC
/// profile tag, `meta.exif`'s IFD0 fields into the page's own tags and its
/// EXIF and GPS IFDs into EXIF and GPS directories; fields libtiff does not
/// know, or of another type, are left out with a note in `meta.dropped`.
Status tiff_encode(const View& img, int compression, Metadata& meta, std::vector<std::byte>& out);

/// Fills a contiguous host view of the header's dtype and shape from in-memory NPY bytes.
Status npy_decode_into(std::span<const std::byte> bytes, std::string_view name, const NpyHeader& h,
                       const View& dst);

/// "'name'"
std::string quoted(std::string_view name);

}  // namespace tandem::io::detail
