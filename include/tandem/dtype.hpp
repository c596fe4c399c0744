/// @file dtype.hpp
/// @brief Element types of images and arrays, and dispatch over them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Element type. Names follow NumPy's short forms ("u8", "f32", ...).
enum class DType : std::uint8_t { u8, u16, i32, i64, f32, f64 };

inline constexpr DType kAllDTypes[] = {DType::u8, DType::u16, DType::i32,
                                       DType::i64, DType::f32, DType::f64};

constexpr std::size_t dtype_size(DType t) noexcept {
  switch (t) {
    case DType::u8: return 1;
    case DType::u16: return 2;
    case DType::i32: return 4;
    case DType::f32: return 4;
    case DType::i64: return 8;
    case DType::f64: return 8;
  }
  return 0;
}

constexpr bool dtype_is_float(DType t) noexcept { return t == DType::f32 || t == DType::f64; }
constexpr bool dtype_is_integer(DType t) noexcept { return !dtype_is_float(t); }

/// @brief "u8", "u16", "i32", "i64", "f32", "f64".
const char* dtype_name(DType t) noexcept;
/// @brief Parses a name as printed by dtype_name (also accepts NumPy's "uint8", "float32", ...).
std::optional<DType> parse_dtype(std::string_view name) noexcept;

template <class T> struct dtype_of;
template <> struct dtype_of<std::uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<std::uint16_t> { static constexpr DType value = DType::u16; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <class T> inline constexpr DType dtype_of_v = dtype_of<T>::value;

/// @brief Calls `f(T{})` with T the C++ type of `t`; returns what f returns.
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::u8: return f(std::uint8_t{});
    case DType::u16: return f(std::uint16_t{});
    case DType::i32: return f(std::int32_t{});
    case DType::i64: return f(std::int64_t{});
    case DType::f32: return f(float{});
    case DType::f64: break;
  }
  return f(double{});
}

}  // namespace tandem

#pragma GCC visibility pop
