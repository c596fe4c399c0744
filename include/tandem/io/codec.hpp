/// @file codec.hpp
/// @brief Image and array codecs: PNG, JPEG, PGM/PPM, TIFF and NPY, in memory.
///
/// Decoding recognises the format from the first bytes (never the file name)
/// and produces a host tensor: an image is H x W (one channel) or H x W x C
/// (C = 3 RGB or 4 RGBA, interleaved), u8 or u16; NPY keeps its own shape.
///
/// | format | decodes to | encodes from |
/// |--------|------------|--------------|
/// | PNG    | gray -> 1 ch; gray+alpha -> RGBA (gray copied to R, G, B); RGB -> 3; RGBA -> 4; palette -> RGB, or RGBA when it has transparency; 1/2/4-bit gray -> u8 scaled to 0..255 (as libpng and OpenCV do); 16-bit samples -> u16 (raw values) | u8/u16, 1/3/4 channels |
/// | JPEG   | u8 gray (1) or RGB (3); CMYK/YCCK refused | u8, 1 or 3 channels |
/// | PGM/PPM| P2/P5 -> 1 ch, P3/P6 -> 3 ch, u8 when maxval <= 255 else u16, raw values (not rescaled to the maxval); P1/P4 bitmaps -> u8 255 (white) / 0 (black) | P5 (pgm, 1 ch) / P6 (ppm, 3 ch), maxval 255 (u8) or 65535 (u16) |
/// | TIFF   | one page (DecodeOptions::page): gray -> 1, RGB -> 3, RGBA -> 4 ch; 8/16-bit unsigned -> u8/u16, 32-bit float -> f32; strips or tiles, any compression libtiff has (LZW, deflate, zstd, ...); palette, min-is-white, CMYK, YCbCr, signed and separate planes refused | u8/u16/f32, 1/3/4 channels, EncodeOptions::tiff_compression |
/// | NPY    | see npy.hpp | any host view |
///
/// JPEG's EXIF orientation and TIFF's Orientation tag are applied
/// (DecodeOptions::apply_orientation; docs/formats.md).
/// ICC profiles and EXIF are not applied to the pixels but can be carried
/// from input to output (Metadata). Not applied: gamma, ICC profiles, the colour key (tRNS) of
/// gray and RGB PNGs. Corrupt or truncated input is an error (Errc::format_error),
/// never a partial image: libjpeg's recoverable warnings ("Premature end of
/// JPEG file", "Corrupt JPEG data") count as errors unless DecodeOptions::strict
/// is off. Every message names the file and the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/io/file.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem::io {

/// @brief File formats tandem reads and writes.
enum class Format { png, jpeg, pgm, ppm, npy, tiff };

/// @brief TIFF compression schemes tandem writes (it reads any libtiff reads).
enum class TiffCompression { none = 1, lzw = 5, deflate = 8, zstd = 50000 };

/// @brief "png", "jpeg", "pgm", "ppm", "npy", "tiff".
const char* format_name(Format f) noexcept;
/// @brief Parses a format name: png, jpeg/jpg, pgm, ppm, npy, tiff/tif (case-insensitive).
std::optional<Format> parse_format(std::string_view name) noexcept;
/// @brief The format of encoded bytes, from their magic number; nullopt if none.
///        (P1/P2/P4/P5 are reported as pgm, P3/P6 as ppm.)
std::optional<Format> detect_format(std::span<const std::byte> bytes) noexcept;
/// @brief The format for an output file name, from its extension (case-insensitive):
///        .png, .jpg/.jpeg/.jpe, .pgm, .ppm, .npy, .tif/.tiff; nullopt otherwise.
std::optional<Format> format_from_path(std::string_view path) noexcept;

/// @brief The largest metadata block (an ICC profile, an EXIF block) kept; a
///        larger one is left out (Metadata::dropped says so), so metadata adds
///        at most 2 x 4 MiB to an image in flight.
inline constexpr std::size_t kMaxMetadataBytes = std::size_t(4) << 20;

/// @brief An image's colour profile and camera metadata, carried from an
///        input to its output where the output format holds them.
///
/// | format  | read from                       | written as |
/// |---------|---------------------------------|------------|
/// | PNG     | iCCP; eXIf (before the pixels, or after them when DecodeOptions::strict reads the end) | iCCP, eXIf |
/// | JPEG    | APP2 ICC_PROFILE (all segments); APP1 Exif | APP2 (split over segments as needed), APP1 (EXIF up to 65527 bytes; a larger block is left out) |
/// | TIFF    | the ICC profile tag (34675); IFD0's text fields and Orientation, the EXIF and GPS IFDs, as an EXIF block | the same tags and directories (fields libtiff does not define are left out) |
/// | PGM/PPM, NPY | nothing                    | nothing |
struct Metadata {
  std::vector<std::byte> icc;   ///< ICC profile, as stored (empty: none)
  /// EXIF as a TIFF structure ("II*\0..." or "MM\0*..."), without JPEG's
  /// "Exif\0\0" prefix (empty: none). When decoding applied the orientation,
  /// its Orientation tag says 1.
  std::vector<std::byte> exif;
  std::vector<std::string> dropped;  ///< blocks left out while reading or writing, and why
  [[nodiscard]] bool empty() const noexcept { return icc.empty() && exif.empty(); }
};

/// @brief Decoding limits and strictness.
struct DecodeOptions {
  /// Largest height * width accepted (element count for NPY), checked from the
  /// header before anything is allocated; <= 0 means no limit. Larger inputs
  /// fail with Errc::unsupported. The default is OpenCV's (2^30). Deeper
  /// pixels count for more: an image may also decode to at most
  /// 4 * max_pixels bytes (an 8-bit RGBA image of max_pixels pixels), so a
  /// 16-bit RGBA image is held to max_pixels / 2 pixels.
  std::int64_t max_pixels = std::int64_t(1) << 30;
  /// Largest decoded size in bytes, checked from the header before anything
  /// is allocated; 0 means no limit. The batch engine sets it to what it
  /// charged the item, so no file decodes to more than its budget allowed.
  std::uint64_t max_bytes = 0;
  /// TIFF: the page (image file directory) to decode, from 0.
  int page = 0;
  /// JPEG and TIFF: apply the EXIF orientation, or the TIFF page's Orientation
  /// tag (rotate/mirror as a viewer shows the photo, as OpenCV's imread does);
  /// off: the raw pixels as stored, their orientation kept in the EXIF.
  bool apply_orientation = true;
  /// Treat recoverable corruption (libjpeg warnings, a PNG without its end) as errors.
  bool strict = true;
  /// Decode into page-locked memory of this device, so it uploads without a
  /// staging copy (the batch engine sets it when GPUs run); host memory when
  /// unset, or when the device cannot give pinned memory.
  std::optional<Device> pinned_for;
  /// When set, receives the input's ICC profile and EXIF (see Metadata);
  /// unset, they are skipped unread.
  Metadata* metadata = nullptr;
};

/// @brief Encoder settings.
struct EncodeOptions {
  int jpeg_quality = 90;     ///< 1..100
  /// 0..9. 1 (fast, as for a pipeline's outputs): the Sub filter and ISA-L's
  /// igzip when tandem was built with it (libisal-dev), else zlib level 1 with
  /// run-length matching; 2-9: zlib's level through libpng (2-3: Sub filter,
  /// run-length matching; 4-9: libpng's adaptive filters; 6 is libpng's
  /// default); 0: stored. docs/performance.md gives the sizes and times.
  int png_compression = 1;
  TiffCompression tiff_compression = TiffCompression::deflate;  ///< with a predictor for LZW, deflate, zstd
  /// Written where the format holds it (see Metadata). The EXIF written is
  /// corrected to the image: ImageWidth/ImageLength and
  /// PixelXDimension/PixelYDimension say its size, the thumbnail (IFD1) is
  /// unlinked (it shows the input); an ICC profile whose colour space does
  /// not match the channels (an RGB profile on a gray result) is left out.
  const Metadata* metadata = nullptr;
  /// Where the metadata blocks left out of the output are added, each with why
  /// (a profile for other channels, EXIF over one JPEG segment, ...); nullptr: not said.
  std::vector<std::string>* dropped = nullptr;
};

/// @brief What a header says about the decoded result.
struct ImageInfo {
  Format format = Format::png;
  DType dtype = DType::u8;
  std::vector<std::int64_t> shape;  ///< H x W, H x W x C, or an NPY array's shape
  int pages = 1;                    ///< TIFF: pages (image file directories) in the file
  int tiff_compression = 1;         ///< TIFF: the page's compression (libtiff's code, e.g. 5 LZW)
  /// TIFF: decoding turns the page by its Orientation tag (the options asked
  /// for it and the tag is 2-8), holding the stored pixels beside the turned ones meanwhile.
  bool tiff_turned = false;
  /// Bytes of the ICC profile and EXIF block decode() keeps for the output when
  /// DecodeOptions::metadata is given (each at most kMaxMetadataBytes), as far as
  /// the header shows them (a PNG's eXIf after its pixels is not counted).
  std::uint64_t metadata_bytes = 0;
  [[nodiscard]] std::int64_t height() const noexcept { return shape.empty() ? 0 : shape[0]; }
  [[nodiscard]] std::int64_t width() const noexcept { return shape.size() < 2 ? 1 : shape[1]; }
  [[nodiscard]] std::int64_t channels() const noexcept { return shape.size() < 3 ? 1 : shape[2]; }
};

/// @brief Reads only the header: format, dtype and shape of what decode() would
///        produce with `options` (their page and orientation; limits are not checked).
Status probe(std::span<const std::byte> bytes, std::string_view name_for_errors, ImageInfo& out,
             const DecodeOptions& options = {});

/// @brief probe() on a file, reading only as much of its start as the header
///        needs (64 KiB, more when metadata comes first, at most the whole
///        file); never blocks on a FIFO or a device (refused, see
///        open_regular_file). `file_size` is the file's size.
Status probe_file(const std::string& path, ImageInfo& out, std::uint64_t& file_size,
                  const DecodeOptions& options = {});

/// @brief The most pages count_tiff_pages() accepts in one file.
inline constexpr int kMaxTiffPages = 1 << 16;

/// @brief The pages (image file directories) of the TIFF file at `path`,
///        reading only the header and each directory's entry count and next
///        offset (no tag, no pixel); 1 for a file that is not a TIFF. An error
///        for a file that cannot be read, a TIFF whose header is corrupt, or
///        one of more than kMaxTiffPages pages.
Status count_tiff_pages(const std::string& path, int& pages);

/// @brief Bytes of the host tensor decode() makes for `info` (elements x dtype
///        size); UINT64_MAX when that does not fit in 64 bits.
std::uint64_t decoded_bytes(const ImageInfo& info) noexcept;

/// @brief Decodes PNG / JPEG / PGM / PPM / NPY bytes into a new host tensor.
Status decode(std::span<const std::byte> bytes, std::string_view name_for_errors, Tensor& out,
              const DecodeOptions& options = {});

/// @brief Decodes into a preallocated host view (e.g. pinned memory) whose dtype
///        and shape match probe(); image rows may be padded, NPY views must be contiguous.
Status decode_into(std::span<const std::byte> bytes, std::string_view name_for_errors, const View& dst,
                   const DecodeOptions& options = {});

/// @brief Encodes a host image (or any array for NPY) in `format`, replacing `out`.
///        Refuses (Errc::unsupported) what the format cannot hold, e.g. f32 in
///        PNG or 4 channels in JPEG.
Status encode(const View& img, Format format, const EncodeOptions& options, std::vector<std::byte>& out);

/// @brief read_file + decode.
Status read_image(const std::string& path, Tensor& out, const DecodeOptions& options = {});

/// @brief encode + write_file_atomic. The format comes from `format`, else the
///        extension (.pnm picks pgm or ppm by the channel count).
Status write_image(const std::string& path, const View& img, const EncodeOptions& options = {},
                   std::optional<Format> format = std::nullopt, const AtomicWriteOptions& write = {});

}  // namespace tandem::io

#pragma GCC visibility pop
