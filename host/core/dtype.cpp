#include "tandem/dtype.hpp"

#include "tandem/border.hpp"

namespace tandem {

const char* dtype_name(DType t) noexcept {
  switch (t) {
    case DType::u8: return "u8";
    case DType::u16: return "u16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::f32: return "f32";
    case DType::f64: return "f64";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view n) noexcept {
  if (n == "u8" || n == "uint8") return DType::u8;
  if (n == "u16" || n == "uint16") return DType::u16;
  if (n == "i32" || n == "int32") return DType::i32;
  if (n == "i64" || n == "int64") return DType::i64;
  if (n == "f32" || n == "float32") return DType::f32;
  if (n == "f64" || n == "float64") return DType::f64;
  return std::nullopt;
}

const char* border_name(Border b) noexcept {
  const auto i = static_cast<std::size_t>(b);
  return i < std::size(kBorderNames) ? kBorderNames[i].data() : "?";
}

std::optional<Border> parse_border(std::string_view n) noexcept {
  for (std::size_t i = 0; i < std::size(kBorderNames); ++i)
    if (n == kBorderNames[i]) return static_cast<Border>(i);
  return std::nullopt;
}

}  // namespace tandem
