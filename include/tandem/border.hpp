/// @file border.hpp
/// @brief Border handling shared by the neighbourhood image ops.
#pragma once

#include <optional>
#include <string_view>

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief How pixels outside the image are made up.
enum class Border : int {
  reflect101 = 0,  ///< gfedcb|abcdefgh|gfedcba (OpenCV BORDER_REFLECT_101, SciPy 'mirror'); default
  replicate = 1,   ///< aaaaaa|abcdefgh|hhhhhhh (OpenCV BORDER_REPLICATE, SciPy 'nearest')
  constant = 2,    ///< vvvvvv|abcdefgh|vvvvvvv with v the op's `value` parameter
};

/// @brief The name of each border mode, indexed by its value: what pipelines
///        write (`border=replicate`) and what `tandem ops` lists.
inline constexpr std::string_view kBorderNames[] = {"reflect101", "replicate", "constant"};

const char* border_name(Border b) noexcept;
std::optional<Border> parse_border(std::string_view name) noexcept;

}  // namespace tandem

#pragma GCC visibility pop
