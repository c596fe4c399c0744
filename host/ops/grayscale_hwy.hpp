// grayscale's vector row loop (host/ops/grayscale_hwy.cpp), on the best SIMD target the CPU has.
#pragma once

#include <cstdint>

namespace tandem::simd {
/// d[i] = luma of the pixel at s + channels * i, i < n; channels is 3 or 4 (alpha ignored).
/// Same bits as kern::gray_pixel. s and d must not overlap. `stream`: non-temporal stores where
/// the target's loop has them (u8 on x86; for outputs larger than the cache).
void gray_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, int channels, bool stream);
void gray_row(const std::uint16_t* s, std::uint16_t* d, std::int64_t n, int channels, bool stream);
void gray_row(const float* s, float* d, std::int64_t n, int channels, bool stream);
}  // namespace tandem::simd
