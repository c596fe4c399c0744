// Format detection, limits and allocation around the per-format codecs.
#include "tandem/io/codec.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>

#include <unistd.h>

#include <cerrno>

#include "host/core/shape.hpp"
#include "io/codecs.hpp"
#include "tandem/io/npy.hpp"

namespace tandem::io {

std::string detail::quoted(std::string_view name) {
  std::string q;
  q.reserve(name.size() + 2);
  q += '\'';
  q += name;
  q += '\'';
  return q;
}

using detail::quoted;

const char* format_name(Format f) noexcept {
  switch (f) {
    case Format::png: return "png";
    case Format::jpeg: return "jpeg";
    case Format::pgm: return "pgm";
    case Format::ppm: return "ppm";
    case Format::npy: return "npy";
    case Format::tiff: return "tiff";
  }
  return "?";
}

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::span<const std::byte> b, const char* magic, std::size_t n) {
  return b.size() >= n && std::memcmp(b.data(), magic, n) == 0;
}

// A friendlier message for formats tandem recognises but does not read.
const char* known_unsupported(std::span<const std::byte> b) {
  if (starts_with(b, "GIF8", 4)) return "GIF";
  if (starts_with(b, "BM", 2) && b.size() >= 14) return "BMP";
  if (starts_with(b, "RIFF", 4) && b.size() >= 12 && std::memcmp(b.data() + 8, "WEBP", 4) == 0) return "WebP";
  if (starts_with(b, "P7", 2)) return "PAM (P7)";
  if (b.size() >= 12 && std::memcmp(b.data() + 4, "ftyp", 4) == 0) return "HEIF/AVIF";
  if (starts_with(b, "\x00\x00\x00\x0cjP  ", 8) || starts_with(b, "\xff\x4f\xff\x51", 4)) return "JPEG 2000";
  if (starts_with(b, "\xff\x0a", 2)) return "JPEG XL";
  return nullptr;
}

std::string first_bytes(std::span<const std::byte> b) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < std::min<std::size_t>(8, b.size()); ++i) {
    const auto v = static_cast<unsigned>(b[i]);
    if (i) s += ' ';
    s += hex[v >> 4];
    s += hex[v & 15];
  }
  return s;
}

Status identify(std::span<const std::byte> bytes, std::string_view name, Format& f) {
  if (bytes.empty()) return {Errc::format_error, quoted(name) + ": empty file"};
  if (auto d = detect_format(bytes)) {
    f = *d;
    return {};
  }
  if (const char* what = known_unsupported(bytes))
    return {Errc::unsupported, quoted(name) + ": " + what + " files are not supported (tandem reads PNG, JPEG, PGM/PPM, TIFF and NPY)"};
  return {Errc::format_error, quoted(name) + ": not a PNG, JPEG, PGM/PPM, TIFF or NPY file (it starts with " +
                                  first_bytes(bytes) + ")"};
}

// Elements x dtype size, saturating at UINT64_MAX.
std::uint64_t product_bytes(std::span<const std::int64_t> shape, DType t) {
  unsigned __int128 n = dtype_size(t);
  for (const std::int64_t d : shape) {
    n *= static_cast<unsigned __int128>(d < 0 ? 0 : d);
    if (n > UINT64_MAX) return UINT64_MAX;
  }
  return static_cast<std::uint64_t>(n);
}

Status check_bytes(std::string_view name, std::uint64_t bytes, const std::string& what, const DecodeOptions& o) {
  if (o.max_bytes > 0 && bytes > o.max_bytes)
    return {Errc::out_of_memory, quoted(name) + ": " + what + " decodes to " + std::to_string(bytes) +
                                     " bytes, more than the " + std::to_string(o.max_bytes) +
                                     " bytes allowed (DecodeOptions::max_bytes)"};
  return {};
}

Status check_pixels(std::string_view name, std::int64_t h, std::int64_t w, std::int64_t c, DType t,
                    const DecodeOptions& o, const char* format) {
  const std::string what = std::string(format) + " of " + std::to_string(w) + "x" + std::to_string(h) + "x" +
                           std::to_string(c) + " " + dtype_name(t);
  const std::int64_t max_pixels = o.max_pixels;
  std::int64_t pixels = 0;
  const bool fits = tandem::detail::checked_mul(h, w, pixels);
  if (max_pixels > 0 && (!fits || pixels > max_pixels))
    return {Errc::unsupported, quoted(name) + ": " + what + " has " +
                                   (fits ? std::to_string(pixels) : std::string("over 2^63")) +
                                   " pixels, more than DecodeOptions::max_pixels (" + std::to_string(max_pixels) + ")"};
  const std::int64_t shape[] = {h, w, c};
  const std::uint64_t bytes = product_bytes(shape, t);
  // Without a limit, the byte count must still be representable.
  tandem::detail::ShapeExtent extent;
  if (bytes > std::uint64_t(INT64_MAX) || !tandem::detail::shape_extent(shape, dtype_size(t), extent))
    return {Errc::out_of_memory, quoted(name) + ": image of " + std::to_string(w) + "x" + std::to_string(h) + " is too large"};
  if (max_pixels > 0 && (bytes + 3) / 4 > std::uint64_t(max_pixels))
    return {Errc::unsupported, quoted(name) + ": " + what + " decodes to " + std::to_string(bytes) +
                                   " bytes, more than 4 x DecodeOptions::max_pixels (" + std::to_string(max_pixels) +
                                   " pixels of 4 bytes)"};
  return check_bytes(name, bytes, what, o);
}

// The image codec of `f` with the options' page (TIFF), orientation (JPEG, TIFF)
// and metadata, filling `tiff` when given. Header-only reads keep the metadata
// the header holds (probe counts it).
Status decode_image(Format f, std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                    const DecodeOptions& o, const detail::DstFn& get_dst, detail::TiffInfo* tiff = nullptr) {
  const int page = o.page;
  Metadata* meta = o.metadata;
  if (meta) *meta = {};
  if (f == Format::tiff) return detail::tiff_decode(bytes, name, page, header_only, get_dst, o.apply_orientation, tiff, meta);
  if (page != 0)
    return {Errc::invalid_argument, quoted(name) + ": page " + std::to_string(page) + " asked of a " + format_name(f) +
                                        " file (only TIFF files have pages)"};
  switch (f) {
    case Format::jpeg: return detail::jpeg_decode(bytes, name, strict, header_only, get_dst, o.apply_orientation, meta);
    case Format::png: return detail::png_decode(bytes, name, strict, header_only, get_dst, meta);
    case Format::pgm:
    case Format::ppm: return detail::pnm_decode(bytes, name, strict, header_only, get_dst);
    case Format::npy:
    case Format::tiff: break;
  }
  return {Errc::internal, quoted(name) + ": no image codec for " + format_name(f)};
}

// What `options.metadata` becomes in an image of `img`'s size and channels:
// the EXIF's sizes corrected and its thumbnail unlinked; a profile for other
// channels, or an EXIF that is not a TIFF structure, left out.
Status fitted_metadata(const View& img, const EncodeOptions& options, Metadata& out) {
  const Metadata* in = options.metadata;
  if (!in || in->empty()) return {};
  try {
    if (!in->icc.empty()) {
      if (detail::icc_fits_channels(in->icc, img.channels())) out.icc = in->icc;
      else out.dropped.push_back("ICC profile left out (its colour space does not match " + std::to_string(img.channels()) + " channels)");
    }
    if (!in->exif.empty()) {
      out.exif = in->exif;
      if (!detail::exif_edit(out.exif, {.width = img.width(), .height = img.height(), .drop_thumbnail = true})) {
        out.exif.clear();
        out.dropped.push_back("EXIF left out (not a readable TIFF structure)");
      }
    }
  } catch (const std::bad_alloc&) {
    return {Errc::out_of_memory, "out of memory for the metadata"};
  }
  return {};
}

Status check_npy_limit(const NpyHeader& h, std::string_view name, const DecodeOptions& o) {
  if (o.max_pixels > 0 && h.numel > o.max_pixels)
    return {Errc::unsupported, quoted(name) + ": NPY array of " + std::to_string(h.numel) +
                                   " elements is larger than DecodeOptions::max_pixels (" + std::to_string(o.max_pixels) + ")"};
  return check_bytes(name, product_bytes(h.shape, h.dtype), "NPY array of " + std::string(dtype_name(h.dtype)), o);
}

bool matches(const View& dst, const detail::ImageHeader& h) {
  return dst.device.is_cpu() && dst.data && dst.is_image() && dst.dtype == h.dtype && dst.height() == h.height &&
         dst.width() == h.width && dst.channels() == h.channels;
}

std::string describe(const detail::ImageHeader& h) {
  std::string s = dtype_name(h.dtype);
  s += ' ';
  s += std::to_string(h.height);
  s += 'x';
  s += std::to_string(h.width);
  if (h.channels != 1) {
    s += 'x';
    s += std::to_string(h.channels);
  }
  return s;
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) noexcept {
  const std::string n = lower(name);
  if (n == "png") return Format::png;
  if (n == "jpeg" || n == "jpg") return Format::jpeg;
  if (n == "pgm") return Format::pgm;
  if (n == "ppm") return Format::ppm;
  if (n == "npy") return Format::npy;
  if (n == "tiff" || n == "tif") return Format::tiff;
  return std::nullopt;
}

std::optional<Format> detect_format(std::span<const std::byte> b) noexcept {
  if (starts_with(b, "\x89PNG\r\n\x1a\n", 8)) return Format::png;
  if (starts_with(b, "\xff\xd8\xff", 3)) return Format::jpeg;
  if (starts_with(b, "\x93NUMPY", 6)) return Format::npy;
  // Classic TIFF and BigTIFF, either byte order.
  if (starts_with(b, "II*\0", 4) || starts_with(b, "MM\0*", 4) || starts_with(b, "II+\0", 4) ||
      starts_with(b, "MM\0+", 4))
    return Format::tiff;
  if (b.size() >= 3 && b[0] == std::byte('P')) {
    const char k = static_cast<char>(b[1]);
    const char sep = static_cast<char>(b[2]);
    const bool ws = sep == ' ' || sep == '\t' || sep == '\n' || sep == '\r' || sep == '#';
    if (ws && (k == '1' || k == '2' || k == '4' || k == '5')) return Format::pgm;
    if (ws && (k == '3' || k == '6')) return Format::ppm;
  }
  return std::nullopt;
}

std::optional<Format> format_from_path(std::string_view path) noexcept {
  const auto slash = path.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const auto dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  const std::string ext = lower(base.substr(dot + 1));
  if (ext == "jpe") return Format::jpeg;
  return parse_format(ext);
}

Status probe(std::span<const std::byte> bytes, std::string_view name, ImageInfo& out, const DecodeOptions& options) {
  Format f{};
  TANDEM_TRY(identify(bytes, name, f));
  ImageInfo info;
  info.format = f;
  if (f == Format::npy) {
    NpyHeader h;
    TANDEM_TRY(parse_npy_header(bytes, name, h));
    info.dtype = h.dtype;
    info.shape = h.shape;
  } else {
    detail::TiffInfo tiff;
    Metadata kept;
    DecodeOptions o = options;
    o.metadata = &kept;
    TANDEM_TRY(decode_image(f, bytes, name, true, true, o, [&](const detail::ImageHeader& h, View&) {
      info.dtype = h.dtype;
      info.shape = {h.height, h.width};
      if (h.channels != 1) info.shape.push_back(h.channels);
      return Status{};
    }, &tiff));
    info.pages = tiff.pages;
    info.tiff_compression = tiff.compression;
    info.tiff_turned = tiff.orientation != 1;
    info.metadata_bytes = kept.icc.size() + kept.exif.size();
  }
  out = std::move(info);
  return {};
}

std::uint64_t decoded_bytes(const ImageInfo& info) noexcept { return product_bytes(info.shape, info.dtype); }

Status probe_file(const std::string& path, ImageInfo& out, std::uint64_t& file_size, const DecodeOptions& options) {
  int fd = -1;
  TANDEM_TRY(open_regular_file(path, fd, file_size));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // Most headers sit in the first 64 KiB; metadata before the pixels (EXIF,
  // ICC, text chunks) may push them further: read 16 times more until the
  // probe succeeds or the whole file was tried.
  std::vector<std::byte> head;
  for (std::uint64_t want = 64 << 10;; want *= 16) {
    const auto n = static_cast<std::size_t>(std::min(want, file_size));
    const std::size_t have = head.size();
    head.resize(n);
    std::size_t got = have;
    while (got < n) {
      const ssize_t r = ::pread(fd, head.data() + got, n - got, static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return {Errc::io_error, "cannot read " + quoted(path) + ": " + errno_message(errno)};
      if (r == 0) break;
      got += std::size_t(r);
    }
    head.resize(got);
    const Status s = probe(head, path, out, options);
    if (s.ok() || got >= file_size || got < n) return s;
  }
}

// The tensor a decode fills, once the header passed the limits: pinned for
// options.pinned_for when that device gives it (it only saves a copy), else host.
Status allocate_decoded(DType dtype, std::span<const std::int64_t> shape, const DecodeOptions& options, Tensor& t) {
  // A shape Tensor::create refuses goes there, for its error.
  if (options.pinned_for && shape.size() <= static_cast<std::size_t>(kMaxDims)) {
    const View like = View::array(nullptr, dtype, shape);
    const auto bytes = static_cast<std::size_t>(std::max<std::int64_t>(like.nbytes(), 1));
    if (Buffer::allocate(bytes, MemKind::pinned, t.buffer(), *options.pinned_for).ok()) {
      t.view() = View::array(t.buffer().data(), dtype, shape);
      return {};
    }
  }
  return Tensor::create(dtype, shape, Device::cpu(), t);
}

namespace {

// What decode and decode_into share: the format, and the limits checked
// before anything is decoded. An NPY array goes to `npy` with its checked
// header; an image's `place` sees only headers within the limits.
Status decode_checked(std::span<const std::byte> bytes, std::string_view name, const DecodeOptions& options,
                      const std::function<Status(const NpyHeader&)>& npy, const detail::DstFn& place) {
  Format f{};
  TANDEM_TRY(identify(bytes, name, f));
  if (f == Format::npy) {
    NpyHeader h;
    TANDEM_TRY(parse_npy_header(bytes, name, h));
    TANDEM_TRY(check_npy_limit(h, name, options));
    return npy(h);
  }
  return decode_image(f, bytes, name, options.strict, false, options, [&](const detail::ImageHeader& h, View& dst) {
    TANDEM_TRY(check_pixels(name, h.height, h.width, h.channels, h.dtype, options, format_name(f)));
    return place(h, dst);
  });
}

}  // namespace

Status decode(std::span<const std::byte> bytes, std::string_view name, Tensor& out, const DecodeOptions& options) {
  Tensor t;
  const auto npy = [&](const NpyHeader& h) {
    if (!options.pinned_for) return decode_npy(bytes, name, t);
    TANDEM_TRY(allocate_decoded(h.dtype, h.shape, options, t).with_context("decoding " + quoted(name)));
    return detail::npy_decode_into(bytes, name, h, t.view());
  };
  TANDEM_TRY(decode_checked(bytes, name, options, npy, [&](const detail::ImageHeader& h, View& dst) {
    std::vector<std::int64_t> shape{h.height, h.width};
    if (h.channels != 1) shape.push_back(h.channels);  // rank 2 for one channel, as create_image
    TANDEM_TRY(allocate_decoded(h.dtype, shape, options, t).with_context("decoding " + quoted(name)));
    dst = t.view();
    return Status{};
  }));
  out = std::move(t);
  return {};
}

Status decode_into(std::span<const std::byte> bytes, std::string_view name, const View& dst,
                   const DecodeOptions& options) {
  const auto npy = [&](const NpyHeader& h) { return detail::npy_decode_into(bytes, name, h, dst); };
  return decode_checked(bytes, name, options, npy, [&](const detail::ImageHeader& h, View& out) {
    if (!matches(dst, h))
      return Status{Errc::invalid_argument, "decode_into " + quoted(name) + ": the destination " + dst.describe() +
                                                " does not match the decoded " + describe(h) + " image in host memory"};
    out = dst;
    return Status{};
  });
}

Status encode(const View& img, Format format, const EncodeOptions& options, std::vector<std::byte>& out) {
  const std::string what = std::string("encode ") + format_name(format);
  if (!img.device.is_cpu())
    return {Errc::invalid_argument, what + ": the image must be in host memory, got " + img.describe()};
  if (format == Format::npy) return encode_npy(img, out);
  if (!img.is_image() || !img.data)
    return {Errc::invalid_argument, what + ": " + img.describe() + " is not an image (H x W or H x W x C with packed pixels)"};
  const std::int64_t c = img.channels();
  if (img.height() < 1 || img.width() < 1)
    return {Errc::invalid_argument, what + ": cannot encode an empty image (" + img.describe() + ")"};
  Metadata meta;
  TANDEM_TRY(fitted_metadata(img, options, meta).with_context(what));
  // What the encoders leave out (TIFF's fields they cannot write) joins what
  // fitting left out, for the caller, once the encoder has returned.
  struct Report {
    const EncodeOptions& o;
    Metadata& m;
    ~Report() {
      if (!o.dropped) return;
      try {
        o.dropped->insert(o.dropped->end(), m.dropped.begin(), m.dropped.end());
      } catch (const std::bad_alloc&) {  // the notes only: the output is written
      }
    }
  } report{options, meta};
  switch (format) {
    case Format::png:
      if (img.dtype != DType::u8 && img.dtype != DType::u16)
        return {Errc::unsupported, what + ": PNG holds u8 or u16 samples, not " + dtype_name(img.dtype) + " (convert first, or use npy)"};
      if (c != 1 && c != 3 && c != 4)
        return {Errc::unsupported, what + ": PNG images here have 1, 3 or 4 channels, not " + std::to_string(c)};
      if (img.height() > 0x7fffffff || img.width() > 0x7fffffff)
        return {Errc::unsupported, what + ": " + img.describe() + " is larger than PNG allows"};
      if (options.png_compression < 0 || options.png_compression > 9)
        return {Errc::invalid_argument, what + ": png_compression must be 0..9, got " + std::to_string(options.png_compression)};
      return detail::png_encode(img, options.png_compression, meta, out);
    case Format::jpeg:
      if (img.dtype != DType::u8)
        return {Errc::unsupported, what + ": JPEG holds u8 samples, not " + dtype_name(img.dtype) + " (use png or npy)"};
      if (c != 1 && c != 3)
        return {Errc::unsupported, what + ": JPEG holds 1 (gray) or 3 (RGB) channels, not " + std::to_string(c) +
                                       (c == 4 ? " (drop the alpha channel, or use png)" : "")};
      if (img.height() > 65500 || img.width() > 65500)
        return {Errc::unsupported, what + ": " + img.describe() + " is larger than JPEG allows (65500 per side)"};
      if (options.jpeg_quality < 1 || options.jpeg_quality > 100)
        return {Errc::invalid_argument, what + ": jpeg_quality must be 1..100, got " + std::to_string(options.jpeg_quality)};
      if (meta.exif.size() > detail::kMaxJpegExifBytes)
        meta.dropped.push_back("EXIF of " + std::to_string(meta.exif.size()) + " bytes left out (one JPEG segment holds " +
                               std::to_string(detail::kMaxJpegExifBytes) + ")");
      return detail::jpeg_encode(img, options.jpeg_quality, meta, out);
    case Format::tiff:
      if (img.dtype != DType::u8 && img.dtype != DType::u16 && img.dtype != DType::f32)
        return {Errc::unsupported, what + ": TIFF here holds u8, u16 or f32 samples, not " + dtype_name(img.dtype) + " (use npy)"};
      if (c != 1 && c != 3 && c != 4)
        return {Errc::unsupported, what + ": TIFF images here have 1, 3 or 4 channels, not " + std::to_string(c)};
      if (img.height() > 0xffffffffLL || img.width() > 0xffffffffLL)
        return {Errc::unsupported, what + ": " + img.describe() + " is larger than TIFF allows"};
      return detail::tiff_encode(img, static_cast<int>(options.tiff_compression), meta, out);
    case Format::pgm:
    case Format::ppm: {
      if (img.dtype != DType::u8 && img.dtype != DType::u16)
        return {Errc::unsupported, what + ": PGM/PPM hold u8 or u16 samples, not " + dtype_name(img.dtype)};
      const std::int64_t want = format == Format::pgm ? 1 : 3;
      if (c != want)
        return {Errc::unsupported, what + ": " + (format == Format::pgm ? "PGM holds 1 channel" : "PPM holds 3 channels") +
                                       ", not " + std::to_string(c) + (c == 1 || c == 3 ? std::string(" (use ") + (c == 1 ? "pgm" : "ppm") + ")" : "")};
      return detail::pnm_encode(img, out);
    }
    case Format::npy: break;
  }
  return {Errc::invalid_argument, what + ": unknown format"};
}

Status read_image(const std::string& path, Tensor& out, const DecodeOptions& options) {
  std::vector<std::byte> bytes;
  TANDEM_TRY(read_file(path, bytes));
  return decode(bytes, path, out, options);
}

Status write_image(const std::string& path, const View& img, const EncodeOptions& options,
                   std::optional<Format> format, const AtomicWriteOptions& write) {
  if (!format) {
    format = format_from_path(path);
    const auto dot = path.rfind('.');
    if (!format && dot != std::string::npos && lower(std::string_view(path).substr(dot)) == ".pnm")
      format = img.channels() == 1 ? Format::pgm : Format::ppm;
    if (!format)
      return {Errc::invalid_argument, "cannot tell the format of " + quoted(path) +
                                          " from its extension (use .png, .jpg, .jpeg, .pgm, .ppm, .pnm, .tif, .tiff or .npy)"};
  }
  std::vector<std::byte> bytes;
  TANDEM_TRY(encode(img, *format, options, bytes).with_context("writing " + quoted(path)));
  return write_file_atomic(path, bytes, write);
}

}  // namespace tandem::io
