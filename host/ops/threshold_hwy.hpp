// threshold's vector row loop (host/ops/threshold_hwy.cpp), on the best SIMD target the CPU has.
#pragma once

#include <cstdint>

namespace tandem::simd {
/// d[i] = s[i] > t ? max : 0 for i < n (max = 255, 65535, 1.0f); s may equal d (in place).
/// `stream`: non-temporal stores (for outputs larger than the cache; pointops::stream_output).
void threshold_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, std::uint8_t t, bool stream);
void threshold_row(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, std::uint16_t t, bool stream);
void threshold_row(const float* s, float* d, std::int64_t n, float t, bool stream);
}  // namespace tandem::simd
