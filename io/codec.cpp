// Format detection, limits and allocation around the per-format codecs.
#include "tandem/io/codec.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

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
  if (starts_with(b, "II*\0", 4) || starts_with(b, "MM\0*", 4)) return "TIFF";
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
    return {Errc::unsupported, quoted(name) + ": " + what + " files are not supported (tandem reads PNG, JPEG, PGM/PPM and NPY)"};
  return {Errc::format_error, quoted(name) + ": not a PNG, JPEG, PGM/PPM or NPY file (it starts with " +
                                  first_bytes(bytes) + ")"};
}

Status check_pixels(std::string_view name, std::int64_t h, std::int64_t w, std::int64_t c, DType t,
                    std::int64_t max_pixels, const char* what) {
  std::int64_t pixels = 0;
  const bool fits = tandem::detail::checked_mul(h, w, pixels);
  if (max_pixels > 0 && (!fits || pixels > max_pixels))
    return {Errc::unsupported, quoted(name) + ": " + what + " of " + std::to_string(w) + "x" + std::to_string(h) +
                                   " pixels (" + (fits ? std::to_string(pixels) : std::string("over 2^63")) +
                                   ") is larger than DecodeOptions::max_pixels (" + std::to_string(max_pixels) + ")"};
  // Without a limit, the byte count (and every stride) must still be representable.
  const std::int64_t dims[] = {h, w, c};
  tandem::detail::ShapeExtent extent;
  if (!tandem::detail::shape_extent(dims, dtype_size(t), extent))
    return {Errc::out_of_memory, quoted(name) + ": image of " + std::to_string(w) + "x" + std::to_string(h) + " is too large"};
  return {};
}

using CodecFn = Status (*)(std::span<const std::byte>, std::string_view, bool, bool, const detail::DstFn&);

CodecFn codec_for(Format f) {
  switch (f) {
    case Format::png: return detail::png_decode;
    case Format::jpeg: return detail::jpeg_decode;
    case Format::pgm:
    case Format::ppm: return detail::pnm_decode;
    case Format::npy: break;
  }
  return nullptr;
}

Status check_npy_limit(const NpyHeader& h, std::string_view name, std::int64_t max_pixels) {
  if (max_pixels > 0 && h.numel > max_pixels)
    return {Errc::unsupported, quoted(name) + ": NPY array of " + std::to_string(h.numel) +
                                   " elements is larger than DecodeOptions::max_pixels (" + std::to_string(max_pixels) + ")"};
  return {};
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
  return std::nullopt;
}

std::optional<Format> detect_format(std::span<const std::byte> b) noexcept {
  if (starts_with(b, "\x89PNG\r\n\x1a\n", 8)) return Format::png;
  if (starts_with(b, "\xff\xd8\xff", 3)) return Format::jpeg;
  if (starts_with(b, "\x93NUMPY", 6)) return Format::npy;
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

Status probe(std::span<const std::byte> bytes, std::string_view name, ImageInfo& out) {
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
    TANDEM_TRY(codec_for(f)(bytes, name, true, true, [&](const detail::ImageHeader& h, View&) {
      info.dtype = h.dtype;
      info.shape = {h.height, h.width};
      if (h.channels != 1) info.shape.push_back(h.channels);
      return Status{};
    }));
  }
  out = std::move(info);
  return {};
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

Status decode(std::span<const std::byte> bytes, std::string_view name, Tensor& out, const DecodeOptions& options) {
  Format f{};
  TANDEM_TRY(identify(bytes, name, f));
  if (f == Format::npy) {
    NpyHeader h;
    TANDEM_TRY(parse_npy_header(bytes, name, h));
    TANDEM_TRY(check_npy_limit(h, name, options.max_pixels));
    if (!options.pinned_for) return decode_npy(bytes, name, out);
    Tensor t;
    TANDEM_TRY(allocate_decoded(h.dtype, h.shape, options, t).with_context("decoding " + quoted(name)));
    TANDEM_TRY(detail::npy_decode_into(bytes, name, h, t.view()));
    out = std::move(t);
    return {};
  }
  Tensor t;
  TANDEM_TRY(codec_for(f)(bytes, name, options.strict, false, [&](const detail::ImageHeader& h, View& dst) {
    TANDEM_TRY(check_pixels(name, h.height, h.width, h.channels, h.dtype, options.max_pixels, format_name(f)));
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
  Format f{};
  TANDEM_TRY(identify(bytes, name, f));
  if (f == Format::npy) {
    NpyHeader h;
    TANDEM_TRY(parse_npy_header(bytes, name, h));
    TANDEM_TRY(check_npy_limit(h, name, options.max_pixels));
    return detail::npy_decode_into(bytes, name, h, dst);
  }
  return codec_for(f)(bytes, name, options.strict, false, [&](const detail::ImageHeader& h, View& out) {
    TANDEM_TRY(check_pixels(name, h.height, h.width, h.channels, h.dtype, options.max_pixels, format_name(f)));
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
      return detail::png_encode(img, options.png_compression, out);
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
      return detail::jpeg_encode(img, options.jpeg_quality, out);
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
                                          " from its extension (use .png, .jpg, .jpeg, .pgm, .ppm, .pnm or .npy)"};
  }
  std::vector<std::byte> bytes;
  TANDEM_TRY(encode(img, *format, options, bytes).with_context("writing " + quoted(path)));
  return write_file_atomic(path, bytes, write);
}

}  // namespace tandem::io
