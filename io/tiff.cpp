// TIFF through libtiff, in memory: 8/16-bit gray, RGB and RGBA, 32-bit float,
// strips or tiles, any compression libtiff was built with; one page (IFD) at
// a time, with its orientation, ICC profile and EXIF fields. Errors go through per-file handlers
// (TIFFOpenOptions), never libtiff's global ones, so concurrent decoders keep their own messages.
//
// EXIF in a TIFF is not one block as in JPEG and PNG: Make, Model and the
// other IFD0 fields are the page's own tags, the rest an EXIF (and a GPS)
// directory the page points to. Reading copies those fields as stored into
// an EXIF block (io/metadata.cpp); writing sets each field of a block through
// libtiff's typed API (TIFFCreateEXIFDirectory, TIFFWriteCustomDirectory), so
// libtiff checks every field it writes.
#include <tiffio.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>

#include <unistd.h>

#include "io/codecs.hpp"
#include "tandem/io/codec.hpp"
#include "tandem/io/file.hpp"

namespace tandem::io::detail {

namespace {

// The bytes libtiff reads (decode) or writes (encode), with a position; or,
// with `fd`, the file libtiff reads (only what it asks for: the page count).
struct Memory {
  int fd = -1;                          // reading a file
  const unsigned char* data = nullptr;  // reading
  std::vector<std::byte>* out = nullptr;  // writing
  std::uint64_t size = 0;
  std::uint64_t pos = 0;
  char error[256] = {};
};

tmsize_t mem_read(thandle_t h, void* buf, tmsize_t n) {
  auto* m = static_cast<Memory*>(h);
  if (m->fd >= 0 && n > 0 && m->pos < m->size) {
    for (;;) {
      const ssize_t r = ::pread(m->fd, buf, std::size_t(n), static_cast<off_t>(m->pos));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return -1;
      m->pos += std::uint64_t(r);
      return r;
    }
  }
  if (!m->data || m->pos >= m->size || n <= 0) return 0;
  const auto k = static_cast<tmsize_t>(std::min<std::uint64_t>(std::uint64_t(n), m->size - m->pos));
  std::memcpy(buf, m->data + m->pos, std::size_t(k));
  m->pos += std::uint64_t(k);
  return k;
}

tmsize_t mem_write(thandle_t h, void* buf, tmsize_t n) {
  auto* m = static_cast<Memory*>(h);
  if (!m->out || n < 0) return -1;
  const std::uint64_t end = m->pos + std::uint64_t(n);
  try {
    if (end > m->out->size()) m->out->resize(std::size_t(end));
  } catch (const std::bad_alloc&) {
    return -1;
  }
  std::memcpy(m->out->data() + m->pos, buf, std::size_t(n));
  m->pos = end;
  m->size = std::max<std::uint64_t>(m->size, end);
  return n;
}

toff_t mem_seek(thandle_t h, toff_t off, int whence) {
  auto* m = static_cast<Memory*>(h);
  const std::uint64_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->size : 0;
  m->pos = base + off;
  return m->pos;
}

int mem_close(thandle_t) { return 0; }
toff_t mem_size(thandle_t h) { return static_cast<Memory*>(h)->size; }
int mem_map(thandle_t, void**, toff_t*) { return 0; }
void mem_unmap(thandle_t, void*, toff_t) {}

int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* m = static_cast<Memory*>(user);
  if (m->error[0]) return 1;  // the first error is the cause
  char msg[200];
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  std::snprintf(m->error, sizeof m->error, "%s%s%s", module ? module : "", module ? ": " : "", msg);
  return 1;
}

int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

struct Closer {
  TIFF* tif;
  ~Closer() {
    if (tif) TIFFClose(tif);
  }
};

TIFF* open_tiff(Memory& m, const char* mode) {
  TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
  if (!opts) return nullptr;
  TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, &m);
  TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, &m);
  TIFF* tif = TIFFClientOpenExt("memory", mode, &m, mem_read, mem_write, mem_seek, mem_close, mem_size, mem_map,
                                mem_unmap, opts);
  TIFFOpenOptionsFree(opts);
  return tif;
}

// The page's layout: what tandem decodes it to, or why it cannot.
struct Layout {
  ImageHeader h;
  std::uint16_t compression = COMPRESSION_NONE;
  int orientation = 1;  // the Orientation tag (1-8), 1 when absent or invalid
  bool tiled = false;
  std::string refused;
};

Layout read_layout(TIFF* tif) {
  Layout l;
  std::uint32_t w = 0, h = 0;
  std::uint16_t bits = 1, spp = 1, format = SAMPLEFORMAT_UINT, photometric = PHOTOMETRIC_MINISBLACK,
                planar = PLANARCONFIG_CONTIG;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &l.compression);
  if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric)) photometric = spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  l.tiled = TIFFIsTiled(tif) != 0;
  std::uint16_t orientation = ORIENTATION_TOPLEFT;
  if (TIFFGetField(tif, TIFFTAG_ORIENTATION, &orientation) && orientation >= 1 && orientation <= 8) l.orientation = orientation;
  l.h.height = h;
  l.h.width = w;
  l.h.channels = spp;
  const std::string what = std::to_string(bits) + "-bit, " + std::to_string(spp) + " samples per pixel";
  if (bits == 8 && format == SAMPLEFORMAT_UINT) l.h.dtype = DType::u8;
  else if (bits == 16 && format == SAMPLEFORMAT_UINT) l.h.dtype = DType::u16;
  else if (bits == 32 && format == SAMPLEFORMAT_IEEEFP) l.h.dtype = DType::f32;
  else l.refused = what + (format == SAMPLEFORMAT_INT ? " signed" : format == SAMPLEFORMAT_IEEEFP ? " float" : "") +
                   " samples (tandem reads 8/16-bit unsigned and 32-bit float)";
  if (l.refused.empty() && photometric != PHOTOMETRIC_MINISBLACK && photometric != PHOTOMETRIC_RGB)
    l.refused = "photometric interpretation " + std::to_string(photometric) +
                " (tandem reads gray (min-is-black) and RGB; palette, min-is-white, CMYK and YCbCr are not read)";
  if (l.refused.empty() && !((photometric == PHOTOMETRIC_MINISBLACK && spp == 1) ||
                             (photometric == PHOTOMETRIC_RGB && (spp == 3 || spp == 4))))
    l.refused = what + " (tandem reads gray, RGB and RGBA)";
  if (l.refused.empty() && spp > 1 && planar != PLANARCONFIG_CONTIG)
    l.refused = "separate sample planes (PlanarConfiguration 2); tandem reads interleaved samples";
  if (l.refused.empty() && (w == 0 || h == 0)) l.refused = "an empty image (" + std::to_string(w) + "x" + std::to_string(h) + ")";
  return l;
}

// Copies `rows` rows of `row_bytes` (each from a buffer row of `stride`
// bytes) to dst starting at (y, x byte offset).
void put_rows(const View& dst, std::int64_t y, std::size_t x_bytes, const unsigned char* src, std::size_t stride,
              std::int64_t rows, std::size_t row_bytes) {
  for (std::int64_t r = 0; r < rows; ++r)
    std::memcpy(dst.row<unsigned char>(y + r) + x_bytes, src + std::size_t(r) * stride, row_bytes);
}

// The most a tile may hold beyond its image's bytes: a 1024 x 1024 tile of RGBA f32.
constexpr std::uint64_t kMaxTileOverhang = std::uint64_t(16) << 20;

Status read_pixels(TIFF* tif, const Layout& l, const View& dst, Memory& m, std::string_view name) {
  const std::size_t px = std::size_t(l.h.channels) * dtype_size(l.h.dtype);
  const std::size_t line = std::size_t(l.h.width) * px;
  auto failed = [&](const std::string& where) {
    return Status{Errc::format_error, quoted(name) + ": corrupt TIFF (" + std::string(m.error[0] ? m.error : "read failed") +
                                          ") while reading " + where};
  };
  // A strip holds at most the image's rows; a tile may overhang the image's edges,
  // but one larger than both the image and kMaxTileOverhang is a header's claim no
  // file needs (a 13x9 image with 234881026-row tiles asked for 2.8 GiB here).
  const std::uint64_t piece = l.tiled ? TIFFTileSize64(tif) : TIFFStripSize64(tif);
  const std::uint64_t image = std::uint64_t(l.h.height) * line;
  if (piece > std::max(image, kMaxTileOverhang))
    return {Errc::format_error, quoted(name) + ": corrupt TIFF (a " + (l.tiled ? "tile" : "strip") + " of " +
                                    std::to_string(piece) + " bytes for an image of " + std::to_string(image) + ")"};
  std::vector<unsigned char> buf;
  try {
    buf.resize(std::size_t(piece));
  } catch (const std::bad_alloc&) {
    return {Errc::out_of_memory, quoted(name) + ": out of memory for a TIFF strip or tile"};
  }
  if (buf.empty()) return failed("its layout");
  if (!l.tiled) {
    std::uint32_t rows_per_strip = 0;
    TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
    rows_per_strip = std::min<std::uint32_t>(std::max<std::uint32_t>(rows_per_strip, 1), std::uint32_t(l.h.height));
    for (std::int64_t y = 0; y < l.h.height; y += rows_per_strip) {
      const std::int64_t rows = std::min<std::int64_t>(rows_per_strip, l.h.height - y);
      const tmsize_t want = static_cast<tmsize_t>(std::size_t(rows) * line);
      const tstrip_t s = TIFFComputeStrip(tif, std::uint32_t(y), 0);
      if (want > tmsize_t(buf.size()) || TIFFReadEncodedStrip(tif, s, buf.data(), want) < want)
        return failed("strip " + std::to_string(s));
      put_rows(dst, y, 0, buf.data(), line, rows, line);
    }
    return {};
  }
  std::uint32_t tw = 0, th = 0;
  TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
  TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
  if (tw == 0 || th == 0 || std::size_t(tw) * th * px > buf.size()) return failed("its tile size");
  for (std::int64_t y = 0; y < l.h.height; y += th)
    for (std::int64_t x = 0; x < l.h.width; x += tw) {
      const ttile_t t = TIFFComputeTile(tif, std::uint32_t(x), std::uint32_t(y), 0, 0);
      if (TIFFReadEncodedTile(tif, t, buf.data(), tmsize_t(buf.size())) < 0) return failed("tile " + std::to_string(t));
      const std::int64_t rows = std::min<std::int64_t>(th, l.h.height - y);
      const std::int64_t cols = std::min<std::int64_t>(tw, l.h.width - x);
      put_rows(dst, y, std::size_t(x) * px, buf.data(), std::size_t(tw) * px, rows, std::size_t(cols) * px);
    }
  return {};
}

// The page's ICC profile, and its EXIF fields as an EXIF block: Orientation
// 1 when the pixels were turned (`turned`), the page's own when not (left
// out when it is 1 and nothing else is carried).
void keep_tiff_metadata(TIFF* tif, std::span<const std::byte> bytes, bool turned, Metadata& meta) {
  std::uint32_t icc_len = 0;
  void* icc = nullptr;
  if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, &icc_len, &icc) && icc)
    keep_metadata({static_cast<const std::byte*>(icc), icc_len}, "ICC profile", meta.icc, meta);
  std::uint64_t exif_ifd = 0;
  if (TIFFIsBigTIFF(tif)) {
    if (TIFFGetField(tif, TIFFTAG_EXIFIFD, &exif_ifd)) meta.dropped.push_back("EXIF of a BigTIFF left out (not read)");
    return;
  }
  ExifFields fields;
  if (!exif_fields(bytes, TIFFCurrentDirOffset(tif), fields, meta.dropped)) return;
  const bool carried = !fields.ifd0.empty() || !fields.exif.empty() || !fields.gps.empty();
  if (turned) fields.orientation = carried ? 1 : 0;
  else if (fields.orientation == 1 && !carried) fields.orientation = 0;
  std::vector<std::byte> block;
  try {
    if (build_exif(fields, block)) keep_metadata(block, "EXIF", meta.exif, meta);
    else if (carried || fields.orientation != 0) meta.dropped.push_back("EXIF left out (over " + std::to_string(kMaxMetadataBytes) + " bytes)");
  } catch (const std::bad_alloc&) {
    meta.dropped.push_back("EXIF left out (out of memory)");
  }
}

}  // namespace

Status tiff_decode(std::span<const std::byte> bytes, std::string_view name, int page, bool header_only,
                   const DstFn& get_dst, bool apply_orientation, TiffInfo* info, Metadata* meta) {
  Memory m;
  m.data = reinterpret_cast<const unsigned char*>(bytes.data());
  m.size = bytes.size();
  TIFF* tif = open_tiff(m, "rm");
  Closer closer{tif};
  if (!tif) return {Errc::format_error, quoted(name) + ": corrupt TIFF (" + std::string(m.error[0] ? m.error : "cannot open") + ")"};
  const int pages = TIFFNumberOfDirectories(tif);
  if (page < 0 || page >= pages || (page > 0 && !TIFFSetDirectory(tif, tdir_t(page))))
    return {Errc::invalid_argument, quoted(name) + ": no page " + std::to_string(page) + " (the file has " +
                                        std::to_string(pages) + ")"};
  const Layout l = read_layout(tif);
  const int o = apply_orientation ? l.orientation : 1;
  if (info) {
    info->pages = pages;
    info->compression = l.compression;
    info->orientation = o;
  }
  if (!l.refused.empty()) return {Errc::unsupported, quoted(name) + ": TIFF with " + l.refused};
  ImageHeader oriented = l.h;
  if (o >= 5) std::swap(oriented.height, oriented.width);
  View dst;
  TANDEM_TRY(get_dst(oriented, dst));
  // From the page's tags: as a header-only read (probe counts it) finds them.
  if (meta) keep_tiff_metadata(tif, bytes, o != 1, *meta);
  if (header_only) return {};
  if (o == 1) {
    TANDEM_TRY(read_pixels(tif, l, dst, m, name));
  } else {
    // Oriented: read into scratch rows first, then moved into place.
    const std::size_t px = std::size_t(l.h.channels) * dtype_size(l.h.dtype), line = std::size_t(l.h.width) * px;
    std::vector<unsigned char> raw;
    try {
      raw.resize(line * std::size_t(l.h.height));
    } catch (const std::bad_alloc&) {
      return {Errc::out_of_memory, quoted(name) + ": out of memory to orient the TIFF"};
    }
    TANDEM_TRY(read_pixels(tif, l, View::image(raw.data(), l.h.dtype, l.h.height, l.h.width, l.h.channels), m, name));
    orient_pixels(raw.data(), line, l.h.height, l.h.width, px, o, dst);
  }
  return {};
}

}  // namespace tandem::io::detail

namespace tandem::io {

Status count_tiff_pages(const std::string& path, int& pages) {
  pages = 1;
  detail::Memory m;
  TANDEM_TRY(open_regular_file(path, m.fd, m.size));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } fd_closer{m.fd};
  unsigned char magic[4] = {};
  if (::pread(m.fd, magic, sizeof magic, 0) != ssize_t(sizeof magic)) return {};
  const bool tiff = (magic[0] == 'I' && magic[1] == 'I' && (magic[2] == 42 || magic[2] == 43) && magic[3] == 0) ||
                    (magic[0] == 'M' && magic[1] == 'M' && magic[2] == 0 && (magic[3] == 42 || magic[3] == 43));
  if (!tiff) return {};
  // 'h': the header only; TIFFNumberOfDirectories then follows the chain of
  // directory offsets, reading each directory's entry count and next offset,
  // never a tag or a pixel (and stops at a loop).
  TIFF* tif = detail::open_tiff(m, "rmh");
  detail::Closer closer{tif};
  if (!tif) return {Errc::format_error, detail::quoted(path) + ": corrupt TIFF (" + std::string(m.error[0] ? m.error : "cannot open") + ")"};
  const tdir_t n = TIFFNumberOfDirectories(tif);
  if (n > tdir_t(kMaxTiffPages))
    return {Errc::unsupported, detail::quoted(path) + ": a TIFF of " + std::to_string(n) + " pages, more than " +
                                   std::to_string(kMaxTiffPages) + " (each page is an item)"};
  pages = std::max(1, int(n));
  return {};
}

}  // namespace tandem::io

namespace tandem::io::detail {

namespace {

// The kind of values of a field type: unsigned, signed, rational, signed
// rational, real, text; 0 for the others.
char type_class(unsigned type) {
  switch (type) {
    case TIFF_BYTE: case TIFF_UNDEFINED: case TIFF_SHORT: case TIFF_LONG: return 'u';
    case TIFF_SBYTE: case TIFF_SSHORT: case TIFF_SLONG: return 's';
    case TIFF_RATIONAL: return 'r';
    case TIFF_SRATIONAL: return 'R';
    case TIFF_FLOAT: case TIFF_DOUBLE: return 'f';
    case TIFF_ASCII: return 'a';
    default: return 0;
  }
}

// An ASCII field's text, up to its first NUL.
std::string text_of(const ExifField& e) {
  const auto* c = reinterpret_cast<const char*>(e.value.data());
  return {c, std::find(c, c + e.value.size(), '\0')};
}

// Value i of `e` as a double (rationals, reals) or an integer (the others).
double real_value(const ExifFields& f, const ExifField& e, std::size_t i) {
  const std::size_t size = e.value.size() / e.count;
  if (e.type == TIFF_FLOAT) {
    const std::uint32_t bits = exif_u32(f, e.value, i * 4, 4);
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  const std::uint32_t a = exif_u32(f, e.value, i * size, 4), b = exif_u32(f, e.value, i * size + 4, 4);
  if (e.type == TIFF_DOUBLE) {
    const std::uint64_t bits = f.little_endian ? (std::uint64_t(b) << 32) | a : (std::uint64_t(a) << 32) | b;
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  if (b == 0) return 0;
  return e.type == TIFF_SRATIONAL ? double(std::int32_t(a)) / double(std::int32_t(b)) : double(a) / double(b);
}

std::int64_t int_value(const ExifFields& f, const ExifField& e, std::size_t i) {
  const std::size_t size = e.value.size() / e.count;
  const std::uint32_t v = exif_u32(f, e.value, i * size, size);
  if (type_class(e.type) != 's') return v;
  return size == 1 ? std::int8_t(v) : size == 2 ? std::int16_t(v) : std::int32_t(v);
}

// Sets one field of an EXIF or GPS block in libtiff's current (custom)
// directory, as libtiff's definition of the tag takes it; false (and a note)
// when libtiff does not know the tag or the stored type or count does not fit.
bool set_field(TIFF* tif, const ExifFields& f, const ExifField& e, std::vector<std::string>& notes) {
  const TIFFField* fip = TIFFFindField(tif, e.tag, TIFF_ANY);
  auto left_out = [&](const char* why) {
    notes.push_back("EXIF tag " + std::to_string(e.tag) + " left out of the TIFF (" + why + ")");
    return false;
  };
  if (!fip || TIFFFieldIsAnonymous(fip)) return left_out("not a tag libtiff writes");
  const unsigned type = TIFFFieldDataType(fip);
  const char cls = type_class(type);
  if (cls == 0 || cls != type_class(e.type) || (cls == 'u' || cls == 's' ? e.value.size() / e.count > std::size_t(TIFFDataWidth(TIFFDataType(type))) : false))
    return left_out("stored as another type");
  const std::size_t size = std::size_t(TIFFFieldSetGetSize(fip));
  const int write_count = TIFFFieldWriteCount(fip);
  if (cls == 'a' && !TIFFFieldPassCount(fip))
    return TIFFSetField(tif, e.tag, text_of(e).c_str()) ? true : left_out("refused by libtiff");
  const bool real = cls == 'r' || cls == 'R' || cls == 'f';
  if (!TIFFFieldPassCount(fip) && write_count == 1) {
    if (e.count != 1) return left_out("more values than the tag holds");
    // Through varargs: reals as double, integers as int, uint32 or uint64 by libtiff's storage.
    const std::int64_t v = real ? 0 : int_value(f, e, 0);
    const int ok = real ? TIFFSetField(tif, e.tag, real_value(f, e, 0))
                   : size == 8 ? TIFFSetField(tif, e.tag, std::uint64_t(v))
                   : size == 4 ? TIFFSetField(tif, e.tag, std::uint32_t(v))
                               : TIFFSetField(tif, e.tag, int(v));
    return ok ? true : left_out("refused by libtiff");
  }
  // Arrays, in libtiff's storage of the tag: float or double, or integers of `size` bytes.
  if (!(size == 1 || size == 2 || size == 4 || size == 8) || (real && size < 4) || cls == 'a')
    return left_out("not a tag libtiff writes");
  std::vector<unsigned char> values(std::size_t(e.count) * size);
  for (std::size_t i = 0; i < e.count; ++i) {
    unsigned char* at = values.data() + i * size;
    if (real && size == 4) {
      const float v = float(real_value(f, e, i));
      std::memcpy(at, &v, 4);
    } else if (real) {
      const double v = real_value(f, e, i);
      std::memcpy(at, &v, 8);
    } else {
      const std::int64_t v = int_value(f, e, i);
      if (size == 1) *at = static_cast<unsigned char>(v);
      else if (size == 2) { const auto w = static_cast<std::uint16_t>(v); std::memcpy(at, &w, 2); }
      else if (size == 4) { const auto w = static_cast<std::uint32_t>(v); std::memcpy(at, &w, 4); }
      else { const auto w = static_cast<std::uint64_t>(v); std::memcpy(at, &w, 8); }
    }
  }
  int ok = 0;
  if (TIFFFieldPassCount(fip)) {
    if (TIFFFieldSetGetCountSize(fip) == 2 && e.count > 0xffff) return left_out("too many values");
    ok = TIFFFieldSetGetCountSize(fip) == 2 ? TIFFSetField(tif, e.tag, int(e.count), values.data())
                                            : TIFFSetField(tif, e.tag, std::uint32_t(e.count), values.data());
  } else {
    if (write_count < 1 || e.count != std::uint32_t(write_count)) return left_out("another number of values than the tag holds");
    ok = TIFFSetField(tif, e.tag, values.data());
  }
  return ok ? true : left_out("refused by libtiff");
}

// Writes `fields` as an EXIF or GPS directory (not linked into the pages),
// its offset in `off`; 0 when none of them could be set.
void write_custom_directory(TIFF* tif, const ExifFields& f, const std::vector<ExifField>& fields, bool gps,
                            std::uint64_t& off, std::vector<std::string>& notes) {
  off = 0;
  // libtiff's TIFFCreate*Directory return 0 on success.
  if (fields.empty() || (gps ? TIFFCreateGPSDirectory(tif) : TIFFCreateEXIFDirectory(tif)) != 0) return;
  int set = 0;
  for (const ExifField& e : fields) set += set_field(tif, f, e, notes) ? 1 : 0;
  if (set > 0 && !TIFFWriteCustomDirectory(tif, &off)) {
    off = 0;
    notes.push_back(std::string(gps ? "GPS" : "EXIF") + " directory left out of the TIFF (libtiff could not write it)");
  }
  // Neither writing it nor creating the next directory frees the fields set.
  TIFFFreeDirectory(tif);
}

}  // namespace

Status tiff_encode(const View& img, int compression, Metadata& meta, std::vector<std::byte>& out) {
  out.clear();
  Memory m;
  m.out = &out;
  TIFF* tif = open_tiff(m, "w");
  Closer closer{tif};
  if (!tif) return {Errc::internal, "TIFF encoder: " + std::string(m.error[0] ? m.error : "cannot open")};
  if (!TIFFIsCODECConfigured(std::uint16_t(compression)))
    return {Errc::unsupported, "TIFF encoder: compression " + std::to_string(compression) + " is not available in this libtiff"};
  // The EXIF and GPS directories go first, written before the page and
  // pointed to from it (a custom directory is not one of the pages).
  ExifFields fields;
  std::uint64_t exif_ifd = 0, gps_ifd = 0;
  if (!meta.exif.empty() && exif_fields(meta.exif, 0, fields, meta.dropped)) {
    try {
      write_custom_directory(tif, fields, fields.exif, false, exif_ifd, meta.dropped);
      write_custom_directory(tif, fields, fields.gps, true, gps_ifd, meta.dropped);
    } catch (const std::bad_alloc&) {
      return {Errc::out_of_memory, "TIFF encoder: out of memory for the EXIF fields"};
    }
    if ((!fields.exif.empty() || !fields.gps.empty()) && TIFFCreateDirectory(tif) != 0)
      return {Errc::internal, "TIFF encoder: " + std::string(m.error[0] ? m.error : "cannot start the page")};
    m.error[0] = '\0';  // a field libtiff refused is a note, not the cause of a later failure
  }
  const std::int64_t c = img.channels();
  const std::uint16_t bits = std::uint16_t(8 * img.elem_size());
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, std::uint32_t(img.width()));
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, std::uint32_t(img.height()));
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, std::uint16_t(c));
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, img.dtype == DType::f32 ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, c == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  if (c == 4) {
    const std::uint16_t extra[] = {EXTRASAMPLE_UNASSALPHA};
    TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, 1, extra);
  }
  TIFFSetField(tif, TIFFTAG_COMPRESSION, std::uint16_t(compression));
  if (compression == COMPRESSION_LZW || compression == COMPRESSION_ADOBE_DEFLATE || compression == COMPRESSION_ZSTD)
    TIFFSetField(tif, TIFFTAG_PREDICTOR, img.dtype == DType::f32 ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL);
  TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tif, 0));
  if (!meta.icc.empty()) TIFFSetField(tif, TIFFTAG_ICCPROFILE, std::uint32_t(meta.icc.size()), meta.icc.data());
  for (const ExifField& e : fields.ifd0)
    if (const std::string text = text_of(e); !text.empty()) TIFFSetField(tif, e.tag, text.c_str());
  if (fields.orientation >= 1) TIFFSetField(tif, TIFFTAG_ORIENTATION, std::uint16_t(fields.orientation));
  if (exif_ifd) TIFFSetField(tif, TIFFTAG_EXIFIFD, exif_ifd);
  if (gps_ifd) TIFFSetField(tif, TIFFTAG_GPSIFD, gps_ifd);
  std::vector<unsigned char> row(std::size_t(img.width() * c) * img.elem_size());
  for (std::int64_t y = 0; y < img.height(); ++y) {
    // libtiff may change the row in place (predictor): give it a copy.
    std::memcpy(row.data(), img.row<unsigned char>(y), row.size());
    if (TIFFWriteScanline(tif, row.data(), std::uint32_t(y), 0) < 0) {
      out.clear();
      return {Errc::internal, "TIFF encoder: " + std::string(m.error[0] ? m.error : "cannot write a row")};
    }
  }
  if (!TIFFWriteDirectory(tif)) {
    out.clear();
    return {Errc::internal, "TIFF encoder: " + std::string(m.error[0] ? m.error : "cannot write the directory")};
  }
  TIFFClose(tif);
  closer.tif = nullptr;
  out.resize(std::size_t(m.size));
  return {};
}

}  // namespace tandem::io::detail
