// Netpbm PGM/PPM (P2/P3 ASCII, P5/P6 binary) and PBM bitmaps (P1/P4) reading;
// P5/P6 writing. Samples are delivered raw: maxval <= 255 gives u8, larger
// maxvals u16 (big-endian in the file), without rescaling to the maxval.
#include <bit>
#include <cstring>
#include <new>

#include "io/codecs.hpp"

namespace tandem::io::detail {

namespace {

constexpr std::int64_t kMaxDim = 0x7fffffff;

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

struct Parser {
  const unsigned char* p;
  std::size_t size;
  std::size_t pos = 0;

  // Skips whitespace and '#' comments (to the end of the line).
  void skip() {
    while (pos < size) {
      if (is_space(p[pos])) {
        ++pos;
      } else if (p[pos] == '#') {
        while (pos < size && p[pos] != '\n' && p[pos] != '\r') ++pos;
      } else {
        break;
      }
    }
  }
  // An unsigned decimal number up to `limit`; false if missing or too large.
  bool number(std::int64_t limit, std::int64_t& out) {
    skip();
    if (pos >= size || p[pos] < '0' || p[pos] > '9') return false;
    std::int64_t v = 0;
    while (pos < size && p[pos] >= '0' && p[pos] <= '9') {
      v = v * 10 + (p[pos++] - '0');
      if (v > limit) return false;
    }
    out = v;
    return true;
  }
};

struct PnmHeader {
  int kind = 0;  // 1..6
  std::int64_t width = 0, height = 0, maxval = 1;
  std::size_t data_offset = 0;
};

Status parse_header(std::span<const std::byte> bytes, std::string_view name, PnmHeader& h, Parser& ps) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 2 || b[0] != 'P' || b[1] < '1' || b[1] > '6')
    return {Errc::format_error, quoted(name) + ": not a PGM/PPM file (no P1-P6 magic)"};
  h.kind = b[1] - '0';
  ps.pos = 2;
  auto bad = [&](const char* what) {
    return Status{Errc::format_error, quoted(name) + ": corrupt P" + std::to_string(h.kind) + " header (" + what + ")"};
  };
  if (!ps.number(kMaxDim, h.width) || h.width < 1) return bad("bad or missing width");
  if (!ps.number(kMaxDim, h.height) || h.height < 1) return bad("bad or missing height");
  if (h.kind != 1 && h.kind != 4) {
    if (!ps.number(65535, h.maxval) || h.maxval < 1) return bad("bad or missing maxval (1..65535)");
  }
  if (h.kind >= 4) {
    // Exactly one whitespace character (or a comment up to its newline) precedes the raster.
    if (ps.pos < ps.size && ps.p[ps.pos] == '#') {
      while (ps.pos < ps.size && ps.p[ps.pos] != '\n' && ps.p[ps.pos] != '\r') ++ps.pos;
    }
    if (ps.pos >= ps.size || !is_space(ps.p[ps.pos])) return bad("no whitespace before the pixel data");
    ++ps.pos;
  }
  h.data_offset = ps.pos;
  return {};
}

template <class T>
bool check_max(const T* v, std::size_t n, std::int64_t maxval) {
  T m = 0;
  for (std::size_t i = 0; i < n; ++i) m = v[i] > m ? v[i] : m;
  return std::int64_t(m) <= maxval;
}

}  // namespace

Status pnm_decode(std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                  const DstFn& get_dst) {
  Parser ps{reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()};
  PnmHeader ph;
  TANDEM_TRY(parse_header(bytes, name, ph, ps));
  ImageHeader h;
  h.height = ph.height;
  h.width = ph.width;
  h.channels = ph.kind == 3 || ph.kind == 6 ? 3 : 1;
  h.dtype = ph.maxval > 255 ? DType::u16 : DType::u8;
  View dst;
  TANDEM_TRY(get_dst(h, dst));
  if (header_only) return {};
  const std::int64_t row_samples = h.width * h.channels;
  const std::string kind{'P', char('0' + ph.kind)};
  auto truncated = [&](std::int64_t y) {
    return Status{Errc::format_error, quoted(name) + ": truncated " + kind + " data (" + std::to_string(y) + " of " +
                                          std::to_string(h.height) + " rows)"};
  };
  auto too_big = [&] {
    return Status{Errc::format_error, quoted(name) + ": " + kind + " sample larger than the maxval " +
                                          std::to_string(ph.maxval)};
  };
  const unsigned char* data = ps.p + ph.data_offset;
  const std::size_t avail = ps.size - ph.data_offset;
  switch (ph.kind) {
    case 4: {  // packed bits, rows padded to a byte; 1 = black
      const std::size_t row_bytes = std::size_t((h.width + 7) / 8);
      for (std::int64_t y = 0; y < h.height; ++y) {
        if (avail < row_bytes * std::size_t(y + 1)) return truncated(y);
        const unsigned char* src = data + row_bytes * std::size_t(y);
        auto* out = dst.row<std::uint8_t>(y);
        for (std::int64_t x = 0; x < h.width; ++x) out[x] = (src[x >> 3] >> (7 - (x & 7))) & 1 ? 0 : 255;
      }
      return {};
    }
    case 5:
    case 6: {
      const std::size_t row_bytes = std::size_t(row_samples) * dtype_size(h.dtype);
      for (std::int64_t y = 0; y < h.height; ++y) {
        if (avail < row_bytes * std::size_t(y + 1)) return truncated(y);
        const unsigned char* src = data + row_bytes * std::size_t(y);
        if (h.dtype == DType::u8) {
          auto* out = dst.row<std::uint8_t>(y);
          std::memcpy(out, src, row_bytes);
          if (ph.maxval < 255 && strict && !check_max(out, std::size_t(row_samples), ph.maxval)) return too_big();
        } else {
          auto* out = dst.row<std::uint16_t>(y);
          for (std::int64_t i = 0; i < row_samples; ++i)
            out[i] = std::uint16_t(src[2 * i] << 8 | src[2 * i + 1]);
          if (ph.maxval < 65535 && strict && !check_max(out, std::size_t(row_samples), ph.maxval)) return too_big();
        }
      }
      return {};
    }
    default: {  // ASCII: P1 digits may run together; P2/P3 numbers are separated by whitespace
      for (std::int64_t y = 0; y < h.height; ++y) {
        for (std::int64_t i = 0; i < row_samples; ++i) {
          std::int64_t v = 0;
          if (ph.kind == 1) {
            ps.skip();
            if (ps.pos >= ps.size) return truncated(y);
            const unsigned char c = ps.p[ps.pos++];
            if (c != '0' && c != '1') return {Errc::format_error, quoted(name) + ": P1 data holds '" + std::string(1, char(c)) + "'"};
            dst.row<std::uint8_t>(y)[i] = c == '1' ? 0 : 255;
            continue;
          }
          if (!ps.number(65535, v)) {
            ps.skip();
            if (ps.pos >= ps.size) return truncated(y);
            return {Errc::format_error, quoted(name) + ": " + kind + " data holds something other than a sample"};
          }
          if (v > ph.maxval) return too_big();
          if (h.dtype == DType::u8) dst.row<std::uint8_t>(y)[i] = std::uint8_t(v);
          else dst.row<std::uint16_t>(y)[i] = std::uint16_t(v);
        }
      }
      return {};
    }
  }
}

Status pnm_encode(const View& img, std::vector<std::byte>& out) {
  const std::int64_t c = img.channels();
  const bool wide = img.dtype == DType::u16;
  const std::string header = std::string(c == 1 ? "P5" : "P6") + "\n" + std::to_string(img.width()) + " " +
                             std::to_string(img.height()) + "\n" + (wide ? "65535" : "255") + "\n";
  const std::size_t row_bytes = std::size_t(img.width() * c) * img.elem_size();
  try {
    out.resize(header.size() + row_bytes * std::size_t(img.height()));
  } catch (const std::bad_alloc&) {
    out.clear();
    return {Errc::out_of_memory, "PGM/PPM encoder: out of memory"};
  }
  std::memcpy(out.data(), header.data(), header.size());
  auto* dst = reinterpret_cast<unsigned char*>(out.data()) + header.size();
  for (std::int64_t y = 0; y < img.height(); ++y, dst += row_bytes) {
    if (!wide) {
      std::memcpy(dst, img.row<std::uint8_t>(y), row_bytes);
    } else {
      const auto* src = img.row<std::uint16_t>(y);
      for (std::int64_t i = 0; i < img.width() * c; ++i) {
        dst[2 * i] = std::uint8_t(src[i] >> 8);
        dst[2 * i + 1] = std::uint8_t(src[i] & 0xff);
      }
    }
  }
  return {};
}

}  // namespace tandem::io::detail
