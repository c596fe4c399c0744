// Metadata kept from inputs: the size cap, the few EXIF fields tandem reads
// or corrects (edited in place), the ICC profile's colour space.
//
// EXIF is a TIFF structure: a byte-order mark ("II" or "MM"), 42, the offset
// of IFD0; each IFD is a count, 12-byte entries (tag, type, count, value or
// offset) and the offset of the next IFD (IFD1 holds the thumbnail). Every
// field tandem changes is a single SHORT or LONG stored inside its entry, so
// an edit never moves a byte: maker notes and other blocks that hold absolute
// offsets stay valid, which re-serialising the whole structure would not
// promise.
#include <cstring>
#include <new>
#include <string>

#include "io/codecs.hpp"

namespace tandem::io::detail {

namespace {

constexpr unsigned kTypeShort = 3, kTypeLong = 4;
constexpr unsigned kTagWidth = 0x0100, kTagHeight = 0x0101, kTagOrientation = 0x0112, kTagExifIfd = 0x8769,
                   kTagPixelX = 0xA002, kTagPixelY = 0xA003;

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

}  // namespace

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
