// invert's vector row loop (host/ops/invert_hwy.cpp), on the best SIMD target the CPU has.
#pragma once

#include <cstdint>

namespace tandem::simd {
/// d[i] = max - s[i] for i < n (255, 65535, 1.0f); s may equal d (in place). `stream`:
/// non-temporal stores (for outputs larger than the cache; pointops::stream_output).
void invert_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, bool stream);
void invert_row(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, bool stream);
void invert_row(const float* s, float* d, std::int64_t n, bool stream);
}  // namespace tandem::simd
