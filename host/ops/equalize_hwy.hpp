// equalize's vector lookup (host/ops/equalize_hwy.cpp), on the best SIMD target the CPU has.
#pragma once

#include <cstdint>

namespace tandem::simd {
/// d[i] = lut[s[i]] for i < n through a 256-entry byte table.
void equalize_map_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, const std::uint8_t* lut);
}  // namespace tandem::simd
