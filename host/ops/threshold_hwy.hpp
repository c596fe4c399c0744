// threshold's vector row loop (host/ops/threshold_hwy.cpp), on the best SIMD target the CPU has.
#pragma once

#include <cstdint>

namespace tandem::simd {
/// d[i] = s[i] > t ? max : 0 for i < n (max = 255, 65535, 1.0f); s may equal d (in place).
void threshold_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, std::uint8_t t);
void threshold_row(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, std::uint16_t t);
void threshold_row(const float* s, float* d, std::int64_t n, float t);
}  // namespace tandem::simd
