// The .npy format: header parsing, dtype descriptors, conversions, preludes.
#include "io/npy_format.hpp"

#include <algorithm>
#include <cstring>

#include "host/core/shape.hpp"
#include "io/codecs.hpp"

namespace tandem::io {

namespace npy_format {

using detail::quoted;

Status format_error(std::string_view name, const std::string& why) {
  return {Errc::format_error, quoted(name) + ": " + why};
}

namespace {

// ---------------------------------------------------------------------------
// A Python literal, as far as .npy headers use them.

struct PyValue {
  enum Kind { string, boolean, none, integer, tuple, list, dict } kind = none;
  std::string text;       // string; dict keys in `keys`
  std::int64_t number = 0;
  std::vector<PyValue> items;
  std::vector<std::string> keys;  // dict only, parallel to items
};

class LiteralParser {
 public:
  explicit LiteralParser(std::string_view s) : s_(s) {}

  bool parse(PyValue& v, int depth = 0) {
    if (depth > 32) return fail("nesting too deep");
    skip_ws();
    if (pos_ >= s_.size()) return fail("unexpected end");
    const char c = s_[pos_];
    if (c == '\'' || c == '"') {
      v.kind = PyValue::string;
      return parse_string(v.text);
    }
    if (c == '(' || c == '[') {
      v.kind = c == '(' ? PyValue::tuple : PyValue::list;
      const char close = c == '(' ? ')' : ']';
      ++pos_;
      for (;;) {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == close) { ++pos_; return true; }
        PyValue item;
        if (!parse(item, depth + 1)) return false;
        v.items.push_back(std::move(item));
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
        if (pos_ < s_.size() && s_[pos_] == close) { ++pos_; return true; }
        return fail("expected ',' or closing bracket");
      }
    }
    if (c == '{') {
      v.kind = PyValue::dict;
      ++pos_;
      for (;;) {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return true; }
        std::string key;
        if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return fail("expected a string key");
        if (!parse_string(key)) return false;
        skip_ws();
        if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':'");
        ++pos_;
        PyValue item;
        if (!parse(item, depth + 1)) return false;
        v.keys.push_back(std::move(key));
        v.items.push_back(std::move(item));
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ',') { ++pos_; continue; }
        if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return true; }
        return fail("expected ',' or '}'");
      }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = PyValue::integer;
      bool neg = false;
      if (c == '-') { neg = true; ++pos_; }
      if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return fail("bad number");
      std::int64_t n = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        if (n > (INT64_MAX - 9) / 10) return fail("number too large");
        n = n * 10 + (s_[pos_++] - '0');
      }
      if (pos_ < s_.size() && (s_[pos_] == 'L' || s_[pos_] == 'l')) ++pos_;  // Python 2 longs
      v.number = neg ? -n : n;
      return true;
    }
    for (auto [word, kind, val] : {std::tuple{"True", PyValue::boolean, 1}, std::tuple{"False", PyValue::boolean, 0},
                                   std::tuple{"None", PyValue::none, 0}}) {
      const std::string_view w(word);
      if (s_.substr(pos_, w.size()) == w) {
        pos_ += w.size();
        v.kind = kind;
        v.number = val;
        return true;
      }
    }
    return fail(std::string("unexpected character '") + c + "'");
  }

  bool at_end() {
    skip_ws();
    return pos_ == s_.size();
  }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\0'))
      ++pos_;
  }
  bool parse_string(std::string& out) {
    const char quote = s_[pos_++];
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) return fail("unterminated string");
    ++pos_;
    return true;
  }
  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why) + " at character " + std::to_string(pos_);
    return false;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::string error_;
};



const char* numpy_type_name(char kind, std::size_t size) {
  switch (kind) {
    case 'b': return "bool";
    case 'i': return size == 1 ? "int8" : size == 2 ? "int16" : size == 4 ? "int32" : size == 8 ? "int64" : "int";
    case 'u': return size == 1 ? "uint8" : size == 2 ? "uint16" : size == 4 ? "uint32" : size == 8 ? "uint64" : "uint";
    case 'f': return size == 2 ? "float16" : size == 4 ? "float32" : size == 8 ? "float64" : size == 16 ? "float128" : "float";
    case 'c': return size == 8 ? "complex64" : size == 16 ? "complex128" : "complex";
    case 'O': return "object";
    case 'S': case 'a': return "bytes";
    case 'U': return "unicode string";
    case 'V': return "void/structured";
    case 'M': return "datetime64";
    case 'm': return "timedelta64";
    default: return "unknown";
  }
}

constexpr const char* kSupportedList =
    "tandem reads bool, int8/16/32/64, uint8/16/32 and float16/32/64";

Status parse_descr(const std::string& descr, std::string_view name, NpyHeader& h, FileType& ft) {
  std::string_view d(descr);
  char order = '|';
  if (!d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=')) {
    order = d[0];
    d.remove_prefix(1);
  }
  if (d.empty()) return format_error(name, "empty NPY dtype descriptor");
  const char kind = d[0];
  std::size_t size = 0;
  std::size_t i = 1;
  for (; i < d.size() && d[i] >= '0' && d[i] <= '9' && size < 1000000; ++i) size = size * 10 + std::size_t(d[i] - '0');
  const bool clean = i == d.size();
  auto refuse = [&] {
    return Status{Errc::unsupported, quoted(name) + ": unsupported NPY dtype '" + descr + "' (" +
                                         numpy_type_name(kind, size) + "); " + kSupportedList};
  };
  if (!clean) return refuse();
  DType t{};
  switch (kind) {
    case 'b': if (size != 1) return refuse(); t = DType::u8; break;
    case 'u':
      if (size == 1) t = DType::u8;
      else if (size == 2) t = DType::u16;
      else if (size == 4) t = DType::i64;
      else return refuse();
      break;
    case 'i':
      if (size == 1 || size == 2 || size == 4) t = DType::i32;
      else if (size == 8) t = DType::i64;
      else return refuse();
      break;
    case 'f':
      if (size == 2 || size == 4) t = DType::f32;
      else if (size == 8) t = DType::f64;
      else return refuse();
      break;
    default: return refuse();
  }
  const bool file_little = order == '<' || (order == '=' && kHostLittle) || order == '|';
  ft.kind = kind;
  ft.size = size;
  ft.swap = size > 1 && (order == '<' || order == '>' || order == '=') && (file_little != kHostLittle);
  h.dtype = t;
  h.file_itemsize = size;
  return {};
}

}  // namespace

bool needs_conversion(const FileType& ft, DType t) {
  return ft.kind == 'b' || ft.size != dtype_size(t) || (ft.kind == 'f' && ft.size == 2) ||
         (ft.kind == 'u' && ft.size == 4);
}

namespace {

template <class U>
U load(const unsigned char* p, bool swap) {
  U u;
  std::memcpy(&u, p, sizeof u);
  if (swap) {
    if constexpr (sizeof(U) == 2) u = U(__builtin_bswap16(std::uint16_t(u)));
    else if constexpr (sizeof(U) == 4) u = U(__builtin_bswap32(std::uint32_t(u)));
    else if constexpr (sizeof(U) == 8) u = U(__builtin_bswap64(std::uint64_t(u)));
  }
  return u;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0) {
    // zero or subnormal: mant * 2^-24 is exact in float
    const float f = float(mant) * (1.0f / 16777216.0f);
    std::memcpy(&bits, &f, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

void byteswap_inplace(void* data, std::size_t count, std::size_t size) {
  auto* p = static_cast<unsigned char*>(data);
  for (std::size_t i = 0; i < count; ++i, p += size) std::reverse(p, p + size);
}

// Converts `count` file elements at `src` to tandem elements at `dst`.
void convert(const unsigned char* src, std::size_t count, const FileType& ft, DType t, void* dst) {
  if (!needs_conversion(ft, t)) {
    std::memcpy(dst, src, count * ft.size);
    if (ft.swap) byteswap_inplace(dst, count, ft.size);
    return;
  }
  const bool sw = ft.swap;
  if (ft.kind == 'b') {
    auto* d = static_cast<std::uint8_t*>(dst);
    for (std::size_t i = 0; i < count; ++i) d[i] = src[i] != 0;
  } else if (ft.kind == 'i' && ft.size == 1) {
    auto* d = static_cast<std::int32_t*>(dst);
    for (std::size_t i = 0; i < count; ++i) d[i] = static_cast<std::int8_t>(src[i]);
  } else if (ft.kind == 'i' && ft.size == 2) {
    auto* d = static_cast<std::int32_t*>(dst);
    for (std::size_t i = 0; i < count; ++i) d[i] = load<std::int16_t>(src + 2 * i, sw);
  } else if (ft.kind == 'u' && ft.size == 4) {
    auto* d = static_cast<std::int64_t*>(dst);
    for (std::size_t i = 0; i < count; ++i) d[i] = load<std::uint32_t>(src + 4 * i, sw);
  } else if (ft.kind == 'f' && ft.size == 2) {
    auto* d = static_cast<float*>(dst);
    for (std::size_t i = 0; i < count; ++i) d[i] = half_to_float(load<std::uint16_t>(src + 2 * i, sw));
  }
}

// The FileType of a parsed header (parse_descr has validated it already).
FileType file_type_of(const NpyHeader& h) {
  NpyHeader tmp;
  FileType ft;
  (void)parse_descr(h.descr, "", tmp, ft);
  return ft;
}

// dst (C order, `shape`) <- src holding the same elements in column-major order.
void fortran_to_c(const void* src, void* dst, const std::vector<std::int64_t>& shape, std::size_t es) {
  const int n = static_cast<int>(shape.size());
  std::int64_t numel = 1;
  for (auto d : shape) numel *= d;
  if (numel == 0) return;
  std::vector<std::int64_t> fstride(static_cast<std::size_t>(n)), idx(static_cast<std::size_t>(n), 0);
  std::int64_t s = 1;
  for (int k = 0; k < n; ++k) {
    fstride[std::size_t(k)] = s;
    s *= shape[std::size_t(k)];
  }
  const auto* in = static_cast<const unsigned char*>(src);
  auto* out = static_cast<unsigned char*>(dst);
  const std::int64_t inner = shape[std::size_t(n - 1)];
  const std::int64_t inner_stride = fstride[std::size_t(n - 1)];
  std::int64_t src_off = 0;
  for (std::int64_t i = 0; i < numel; i += inner) {
    const unsigned char* p = in + std::size_t(src_off) * es;
    for (std::int64_t j = 0; j < inner; ++j, out += es) std::memcpy(out, p + std::size_t(j * inner_stride) * es, es);
    // advance the odometer over dims [0, n-1)
    for (int k = n - 2; k >= 0; --k) {
      const auto ku = std::size_t(k);
      if (++idx[ku] < shape[ku]) {
        src_off += fstride[ku];
        break;
      }
      src_off -= fstride[ku] * (shape[ku] - 1);
      idx[ku] = 0;
    }
  }
}


namespace {
std::string descr_for(DType t) {
  const char order = kHostLittle ? '<' : '>';
  switch (t) {
    case DType::u8: return "|u1";
    case DType::u16: return std::string(1, order) + "u2";
    case DType::i32: return std::string(1, order) + "i4";
    case DType::i64: return std::string(1, order) + "i8";
    case DType::f32: return std::string(1, order) + "f4";
    case DType::f64: return std::string(1, order) + "f8";
  }
  return "|u1";
}

}  // namespace

std::string dict_text(DType t, std::span<const std::int64_t> shape, const std::string& first_dim) {
  std::string s = "{'descr': '" + descr_for(t) + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    s += i == 0 && !first_dim.empty() ? first_dim : std::to_string(shape[i]);
    s += shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "";
  }
  s += "), }";
  return s;
}

std::string make_prelude(const std::string& dict, std::size_t min_total) {
  for (int major : {1, 2}) {
    const std::size_t prefix = major == 1 ? 10 : 12;
    std::size_t total = std::max(prefix + dict.size() + 1, min_total);
    total = (total + 63) / 64 * 64;
    const std::size_t hlen = total - prefix;
    if (major == 1 && hlen > 65535) continue;
    std::string out(reinterpret_cast<const char*>(kMagic), 6);
    out += char(major);
    out += char(0);
    for (std::size_t b = 0; b < prefix - 8; ++b) out += char((hlen >> (8 * b)) & 0xff);
    out += dict;
    out.append(total - out.size() - 1, ' ');
    out += '\n';
    return out;
  }
  return {};
}

}  // namespace npy_format

using namespace npy_format;

Status parse_npy_header(std::span<const std::byte> bytes, std::string_view name, NpyHeader& out) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t magic_n = std::min<std::size_t>(6, bytes.size());
  const bool magic_ok = magic_n > 0 && std::memcmp(b, kMagic, magic_n) == 0;
  if (!magic_ok) return format_error(name, "not a .npy file (no \\x93NUMPY magic)");
  if (bytes.size() < 10) return format_error(name, "truncated NPY header");
  NpyHeader h;
  h.major = b[6];
  h.minor = b[7];
  std::size_t prefix = 0, hlen = 0;
  if (h.major == 1) {
    prefix = 10;
    hlen = std::size_t(b[8]) | std::size_t(b[9]) << 8;
  } else if (h.major == 2 || h.major == 3) {
    prefix = 12;
    if (bytes.size() < 12) return format_error(name, "truncated NPY header");
    hlen = std::size_t(b[8]) | std::size_t(b[9]) << 8 | std::size_t(b[10]) << 16 | std::size_t(b[11]) << 24;
  } else {
    return {Errc::unsupported, quoted(name) + ": unsupported NPY format version " + std::to_string(h.major) + "." +
                                   std::to_string(h.minor) + " (tandem reads 1.0, 2.0 and 3.0)"};
  }
  if (hlen > kMaxHeaderBytes)
    return format_error(name, "NPY header of " + std::to_string(hlen) + " bytes is implausibly large");
  if (bytes.size() < prefix + hlen) return format_error(name, "truncated NPY header");
  const std::string_view text(reinterpret_cast<const char*>(b + prefix), hlen);
  PyValue dict;
  LiteralParser parser(text);
  if (!parser.parse(dict) || !parser.at_end())
    return format_error(name, "malformed NPY header (" + (parser.error().empty() ? std::string("trailing characters") : parser.error()) + ")");
  if (dict.kind != PyValue::dict) return format_error(name, "malformed NPY header (not a dict)");
  const PyValue *descr = nullptr, *fortran = nullptr, *shape = nullptr;
  for (std::size_t i = 0; i < dict.keys.size(); ++i) {
    if (dict.keys[i] == "descr") descr = &dict.items[i];
    else if (dict.keys[i] == "fortran_order") fortran = &dict.items[i];
    else if (dict.keys[i] == "shape") shape = &dict.items[i];
  }
  if (!descr || !fortran || !shape)
    return format_error(name, "NPY header lacks one of 'descr', 'fortran_order', 'shape'");
  if (descr->kind == PyValue::list || descr->kind == PyValue::tuple)
    return {Errc::unsupported, quoted(name) + ": unsupported NPY dtype (structured array with fields); " + kSupportedList};
  if (descr->kind != PyValue::string) return format_error(name, "NPY header 'descr' is not a string");
  if (fortran->kind != PyValue::boolean) return format_error(name, "NPY header 'fortran_order' is not True/False");
  if (shape->kind != PyValue::tuple) return format_error(name, "NPY header 'shape' is not a tuple");
  h.descr = descr->text;
  FileType ft;
  TANDEM_TRY(parse_descr(h.descr, name, h, ft));
  h.fortran_order = fortran->number != 0;
  for (const auto& d : shape->items) {
    if (d.kind != PyValue::integer || d.number < 0) return format_error(name, "NPY shape holds a non-integer or negative dimension");
    h.shape.push_back(d.number);
  }
  // As NumPy: dimensions of 0 make the array empty but do not excuse the others
  // (their strides must still exist), in the file's item size and in tandem's.
  tandem::detail::ShapeExtent in_file, in_memory;
  if (!tandem::detail::shape_extent(h.shape, h.file_itemsize, in_file) ||
      !tandem::detail::shape_extent(h.shape, dtype_size(h.dtype), in_memory))
    return format_error(name, "NPY shape is too large (it spans more than 2^63 bytes)");
  h.numel = in_file.numel;
  h.data_offset = prefix + hlen;
  out = std::move(h);
  return {};
}

}  // namespace tandem::io
