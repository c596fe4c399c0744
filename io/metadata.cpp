// Metadata kept from inputs: the size cap, the few EXIF fields tandem reads
// or corrects (edited in place), the ICC profile's colour space, the EXIF
// fields a TIFF carries as its own tags, and the orientation applied to pixels.
//
// EXIF is a TIFF structure: a byte-order mark ("II" or "MM"), 42, the offset
// of IFD0; each IFD is a count, 12-byte entries (tag, type, count, value or
// offset) and the offset of the next IFD (IFD1 holds the thumbnail). Every
// field tandem changes is a single SHORT or LONG stored inside its entry, so
// an edit never moves a byte: maker notes and other blocks that hold absolute
// offsets stay valid, which re-serialising the whole structure would not
// promise.
#include <algorithm>
#include <cstring>
#include <new>
#include <string>

#include "io/codecs.hpp"

namespace tandem::io::detail {

namespace {

constexpr unsigned kTypeShort = 3, kTypeLong = 4;
constexpr unsigned kTagWidth = 0x0100, kTagHeight = 0x0101, kTagOrientation = 0x0112, kTagExifIfd = 0x8769,
                   kTagGpsIfd = 0x8825, kTagInteropIfd = 0xA005, kTagPixelX = 0xA002, kTagPixelY = 0xA003;

// Bytes of one value of each TIFF field type (1 BYTE .. 13 IFD); 0: unknown.
std::size_t type_size(unsigned type) {
  static constexpr std::size_t kSizes[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4};
  return type < sizeof kSizes / sizeof kSizes[0] ? kSizes[type] : 0;
}

// The IFD0 fields an EXIF block carries that a TIFF also holds as its own
// tags: ImageDescription, Make, Model, Software, DateTime, Artist, Copyright.
constexpr unsigned kIfd0Text[] = {0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298};

struct Tiff {
  unsigned char* t;
  std::size_t n;
  bool le;

  unsigned u16(std::size_t at) const { return le ? t[at] | (t[at + 1] << 8) : (t[at] << 8) | t[at + 1]; }
  std::uint32_t u32(std::size_t at) const {
    const std::uint32_t b0 = t[at], b1 = t[at + 1], b2 = t[at + 2], b3 = t[at + 3];
    return le ? b0 | (b1 << 8) | (b2 << 16) | (b3 << 24) : (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
  }
  void put16(std::size_t at, unsigned v) const {
    t[at + (le ? 0 : 1)] = static_cast<unsigned char>(v & 0xff);
    t[at + (le ? 1 : 0)] = static_cast<unsigned char>(v >> 8);
  }
  void put32(std::size_t at, std::uint32_t v) const {
    for (int i = 0; i < 4; ++i) t[at + std::size_t(le ? i : 3 - i)] = static_cast<unsigned char>(v >> (8 * i));
  }
  // The entries of the IFD at `off` (their count), 0 when it does not fit.
  unsigned entries(std::size_t off) const {
    if (off < 8 || off > n || n - off < 6) return 0;
    const unsigned k = u16(off);
    return n - off - 6 >= std::size_t(k) * 12 ? k : 0;
  }
  // A single SHORT or LONG value of the entry at `e`; -1 for anything else.
  std::int64_t scalar(std::size_t e) const {
    if (u32(e + 4) != 1) return -1;
    const unsigned type = u16(e + 2);
    return type == kTypeShort ? std::int64_t(u16(e + 8)) : type == kTypeLong ? std::int64_t(u32(e + 8)) : -1;
  }
  // Sets a single SHORT or LONG entry to `v`, as LONG when SHORT cannot hold it.
  void set_scalar(std::size_t e, std::uint32_t v) const {
    if (scalar(e) < 0) return;
    if (u16(e + 2) == kTypeShort && v <= 0xffff) {
      put16(e + 8, v);
      put16(e + 10, 0);
      return;
    }
    put16(e + 2, kTypeLong);
    put32(e + 8, v);
  }
};

bool open_tiff(std::span<std::byte> exif, Tiff& t) {
  if (exif.size() < 8) return false;
  t.t = reinterpret_cast<unsigned char*>(exif.data());
  t.n = exif.size();
  if (std::memcmp(t.t, "II*\0", 4) == 0) t.le = true;
  else if (std::memcmp(t.t, "MM\0*", 4) == 0) t.le = false;
  else return false;
  return t.entries(t.u32(4)) > 0;
}

bool is_ifd0_text(unsigned tag) { return std::find(std::begin(kIfd0Text), std::end(kIfd0Text), tag) != std::end(kIfd0Text); }

// The entries of the IFD at `off` whose values lie inside the structure (of
// IFD0 only the text fields, the orientation and the EXIF and GPS pointers).
// Inside the EXIF and GPS IFDs a pointer to another IFD (type IFD, the
// Interoperability IFD) cannot be copied as stored: left out with a note.
void read_ifd(const Tiff& t, std::size_t off, bool zeroth, std::vector<ExifField>& out, std::vector<std::string>& notes) {
  for (unsigned i = 0, k = t.entries(off); i < k; ++i) {
    const std::size_t e = off + 2 + std::size_t(i) * 12;
    ExifField f{t.u16(e), t.u16(e + 2), t.u32(e + 4), {}};
    const bool pointer = f.tag == kTagExifIfd || f.tag == kTagGpsIfd;
    if (zeroth && !pointer && f.tag != kTagOrientation && !is_ifd0_text(f.tag)) continue;
    const std::size_t size = type_size(f.type);
    const auto bytes = static_cast<unsigned __int128>(size) * f.count;
    const std::size_t at = bytes > 4 ? std::size_t(t.u32(e + 8)) : e + 8;
    const bool nested = !zeroth && (f.type == 13 || f.tag == kTagInteropIfd || pointer);
    if (nested || size == 0 || f.count == 0 || bytes > t.n || at > t.n - std::size_t(bytes)) {
      notes.push_back("EXIF tag " + std::to_string(f.tag) + " left out (" +
                      (nested ? "a pointer to another directory" : "unreadable") + ")");
      continue;
    }
    f.value = {reinterpret_cast<const std::byte*>(t.t) + at, std::size_t(bytes)};
    out.push_back(f);
  }
}

}  // namespace

bool exif_fields(std::span<const std::byte> tiff, std::uint64_t ifd0, ExifFields& out, std::vector<std::string>& notes) {
  Tiff t;
  out = {};
  if (!open_tiff({const_cast<std::byte*>(tiff.data()), tiff.size()}, t)) return false;  // only read
  out.little_endian = t.le;
  if (ifd0 == 0) ifd0 = t.u32(4);
  if (ifd0 > t.n || t.entries(std::size_t(ifd0)) == 0) return false;
  std::vector<ExifField> zeroth;
  read_ifd(t, std::size_t(ifd0), true, zeroth, notes);
  for (const ExifField& f : zeroth) {
    const std::size_t at = std::size_t(f.value.data() - tiff.data());
    const std::int64_t v = f.count != 1 ? -1 : f.type == kTypeShort ? t.u16(at) : f.type == kTypeLong || f.type == 13 ? t.u32(at) : -1;
    if (f.tag == kTagOrientation) {
      if (v >= 1 && v <= 8) out.orientation = int(v);
    } else if (f.tag == kTagExifIfd || f.tag == kTagGpsIfd) {
      if (v > 0 && std::uint64_t(v) != ifd0) read_ifd(t, std::size_t(v), false, f.tag == kTagExifIfd ? out.exif : out.gps, notes);
    } else if (f.type == 2) {
      out.ifd0.push_back(f);
    }
  }
  return true;
}

std::uint32_t exif_u32(const ExifFields& f, std::span<const std::byte> value, std::size_t at, std::size_t size) {
  const auto* b = reinterpret_cast<const unsigned char*>(value.data()) + at;
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < size; ++i) v |= std::uint32_t(b[f.little_endian ? i : size - 1 - i]) << (8 * i);
  return v;
}

bool build_exif(const ExifFields& f, std::vector<std::byte>& out) {
  out.clear();
  if (f.ifd0.empty() && f.exif.empty() && f.gps.empty() && f.orientation == 0) return false;
  // IFD0 (its text fields, the orientation, the pointers), the EXIF IFD, the
  // GPS IFD, then every value of more than 4 bytes.
  const std::size_t n0 = f.ifd0.size() + (f.orientation ? 1 : 0) + (f.exif.empty() ? 0 : 1) + (f.gps.empty() ? 0 : 1);
  const std::size_t ifd0 = 8, exif = ifd0 + 6 + 12 * n0, gps = exif + (f.exif.empty() ? 0 : 6 + 12 * f.exif.size());
  std::size_t data = gps + (f.gps.empty() ? 0 : 6 + 12 * f.gps.size());
  std::size_t total = data;
  for (const auto* list : {&f.ifd0, &f.exif, &f.gps})
    for (const ExifField& e : *list)
      if (e.value.size() > 4) total += (e.value.size() + 1) & ~std::size_t(1);
  if (total > kMaxMetadataBytes) return false;
  out.assign(total, std::byte{0});
  Tiff t{reinterpret_cast<unsigned char*>(out.data()), out.size(), f.little_endian};
  std::memcpy(t.t, f.little_endian ? "II*\0" : "MM\0*", 4);
  t.put32(4, std::uint32_t(ifd0));
  auto write_ifd = [&](std::size_t at, std::vector<ExifField> list) {
    std::sort(list.begin(), list.end(), [](const ExifField& a, const ExifField& b) { return a.tag < b.tag; });
    t.put16(at, unsigned(list.size()));
    for (std::size_t i = 0; i < list.size(); ++i) {
      const ExifField& e = list[i];
      const std::size_t entry = at + 2 + 12 * i;
      t.put16(entry, e.tag);
      t.put16(entry + 2, e.type);
      t.put32(entry + 4, e.count);
      if (e.value.size() <= 4) {
        std::memcpy(t.t + entry + 8, e.value.data(), e.value.size());
        continue;
      }
      t.put32(entry + 8, std::uint32_t(data));
      std::memcpy(t.t + data, e.value.data(), e.value.size());
      data += (e.value.size() + 1) & ~std::size_t(1);
    }
    t.put32(at + 2 + 12 * list.size(), 0);
  };
  // The values this block makes itself, in its byte order.
  unsigned char orientation[4] = {}, exif_at[4] = {}, gps_at[4] = {};
  Tiff scratch{orientation, 4, f.little_endian};
  scratch.put16(0, unsigned(f.orientation));
  scratch.t = exif_at;
  scratch.put32(0, std::uint32_t(exif));
  scratch.t = gps_at;
  scratch.put32(0, std::uint32_t(gps));
  auto bytes = [](const unsigned char* p, std::size_t n) { return std::span<const std::byte>(reinterpret_cast<const std::byte*>(p), n); };
  std::vector<ExifField> zeroth = f.ifd0;
  if (f.orientation) zeroth.push_back({kTagOrientation, kTypeShort, 1, bytes(orientation, 2)});
  if (!f.exif.empty()) zeroth.push_back({kTagExifIfd, kTypeLong, 1, bytes(exif_at, 4)});
  if (!f.gps.empty()) zeroth.push_back({kTagGpsIfd, kTypeLong, 1, bytes(gps_at, 4)});
  write_ifd(ifd0, std::move(zeroth));
  if (!f.exif.empty()) write_ifd(exif, f.exif);
  if (!f.gps.empty()) write_ifd(gps, f.gps);
  return true;
}

namespace {

// Copies n pixels of `pb` bytes from src + at, at + step, ... to out; PB, when
// not 0, is pb known at compile time (the memcpy then becomes moves).
template <std::size_t PB>
void gather_pixels(unsigned char* out, const unsigned char* src, std::ptrdiff_t at, std::ptrdiff_t step, std::int64_t n,
                   std::size_t pb = PB) {
  const std::size_t size = PB ? PB : pb;
  for (std::int64_t x = 0; x < n; ++x, at += step) std::memcpy(out + std::size_t(x) * size, src + at, size);
}

}  // namespace

void orient_pixels(const unsigned char* src, std::size_t src_stride, std::int64_t h, std::int64_t w,
                   std::size_t pixel_bytes, int o, const View& dst) {
  // Output row y is source pixels at `first(y) + x * step`, x = 0 .. width:
  // a row of the source (1-4) or a column of it (5-8), either way round.
  const auto pb = std::ptrdiff_t(pixel_bytes), stride = std::ptrdiff_t(src_stride);
  const std::ptrdiff_t last_row = (h - 1) * stride, last_px = (w - 1) * pb;
  const bool columns = o >= 5 && o <= 8;
  std::ptrdiff_t step = pb;
  if (o == 2 || o == 3) step = -pb;
  if (o == 5 || o == 8) step = stride;
  if (o == 6 || o == 7) step = -stride;
  auto first = [&](std::int64_t y) -> std::ptrdiff_t {
    switch (o) {
      case 2: return y * stride + last_px;
      case 3: return last_row - y * stride + last_px;
      case 4: return last_row - y * stride;
      case 5: return y * pb;
      case 6: return last_row + y * pb;
      case 7: return last_row + last_px - y * pb;
      case 8: return last_px - y * pb;
      default: return y * stride;
    }
  };
  auto copy = [&](unsigned char* out, std::ptrdiff_t at, std::int64_t n) {
    switch (pixel_bytes) {
      case 1: return gather_pixels<1>(out, src, at, step, n);
      case 2: return gather_pixels<2>(out, src, at, step, n);
      case 3: return gather_pixels<3>(out, src, at, step, n);
      case 4: return gather_pixels<4>(out, src, at, step, n);
      case 6: return gather_pixels<6>(out, src, at, step, n);
      case 8: return gather_pixels<8>(out, src, at, step, n);
      case 12: return gather_pixels<12>(out, src, at, step, n);
      case 16: return gather_pixels<16>(out, src, at, step, n);
      default: return gather_pixels<0>(out, src, at, step, n, pixel_bytes);
    }
  };
  const std::int64_t out_h = dst.height(), out_w = dst.width();
  if (!columns) {
    for (std::int64_t y = 0; y < out_h; ++y) {
      unsigned char* out = dst.row<unsigned char>(y);
      if (step > 0)
        std::memcpy(out, src + first(y), std::size_t(out_w) * pixel_bytes);
      else
        copy(out, first(y), out_w);
    }
    return;
  }
  // A column of the source touches one cache line per row: turn tiles of
  // kRows output rows x kCols pixels so the source lines they share stay in
  // cache while the neighbouring output rows use them.
  constexpr std::int64_t kRows = 16, kCols = 256;
  for (std::int64_t y0 = 0; y0 < out_h; y0 += kRows) {
    const std::int64_t y1 = std::min(out_h, y0 + kRows);
    for (std::int64_t x0 = 0; x0 < out_w; x0 += kCols) {
      const std::int64_t n = std::min(kCols, out_w - x0);
      for (std::int64_t y = y0; y < y1; ++y)
        copy(dst.row<unsigned char>(y) + std::size_t(x0) * pixel_bytes, first(y) + x0 * step, n);
    }
  }
}

void keep_metadata(std::span<const std::byte> block, const char* what, std::vector<std::byte>& slot, Metadata& meta) {
  if (block.size() > kMaxMetadataBytes) {
    meta.dropped.push_back(std::string(what) + " of " + std::to_string(block.size()) + " bytes left out (over " +
                           std::to_string(kMaxMetadataBytes) + " bytes)");
    return;
  }
  try {
    slot.assign(block.begin(), block.end());
  } catch (const std::bad_alloc&) {
    slot.clear();
    meta.dropped.push_back(std::string(what) + " left out (out of memory)");
  }
}

int exif_orientation(std::span<const std::byte> exif) {
  Tiff t;
  // Only read: the const_cast is never written through.
  if (!open_tiff({const_cast<std::byte*>(exif.data()), exif.size()}, t)) return 1;
  const std::size_t ifd0 = t.u32(4);
  for (unsigned i = 0, k = t.entries(ifd0); i < k; ++i) {
    const std::size_t e = ifd0 + 2 + std::size_t(i) * 12;
    if (t.u16(e) != kTagOrientation) continue;
    const std::int64_t v = t.scalar(e);
    return v >= 1 && v <= 8 ? int(v) : 1;
  }
  return 1;
}

bool exif_edit(std::span<std::byte> exif, const ExifEdit& edit) {
  Tiff t;
  if (!open_tiff(exif, t)) return false;
  const std::size_t ifd0 = t.u32(4);
  const unsigned k = t.entries(ifd0);
  std::size_t exif_ifd = 0;
  for (unsigned i = 0; i < k; ++i) {
    const std::size_t e = ifd0 + 2 + std::size_t(i) * 12;
    const unsigned tag = t.u16(e);
    if (tag == kTagOrientation && edit.orientation > 0) t.set_scalar(e, std::uint32_t(edit.orientation));
    if (tag == kTagWidth && edit.width > 0) t.set_scalar(e, std::uint32_t(edit.width));
    if (tag == kTagHeight && edit.height > 0) t.set_scalar(e, std::uint32_t(edit.height));
    if (tag == kTagExifIfd && t.scalar(e) > 0) exif_ifd = std::size_t(t.scalar(e));
  }
  if (edit.drop_thumbnail) t.put32(ifd0 + 2 + std::size_t(k) * 12, 0);
  if (exif_ifd != 0 && exif_ifd != ifd0) {
    for (unsigned i = 0, m = t.entries(exif_ifd); i < m; ++i) {
      const std::size_t e = exif_ifd + 2 + std::size_t(i) * 12;
      const unsigned tag = t.u16(e);
      if (tag == kTagPixelX && edit.width > 0) t.set_scalar(e, std::uint32_t(edit.width));
      if (tag == kTagPixelY && edit.height > 0) t.set_scalar(e, std::uint32_t(edit.height));
    }
  }
  return true;
}

bool icc_fits_channels(std::span<const std::byte> icc, std::int64_t channels) {
  // The data colour space: 4 bytes at offset 16 of the profile header.
  if (icc.size() < 128) return false;
  const char* space = reinterpret_cast<const char*>(icc.data()) + 16;
  if (std::memcmp(space, "GRAY", 4) == 0) return channels == 1;
  if (std::memcmp(space, "RGB ", 4) == 0) return channels == 3 || channels == 4;
  return false;  // CMYK, Lab, ...: tandem's images are gray or RGB(A)
}

}  // namespace tandem::io::detail
