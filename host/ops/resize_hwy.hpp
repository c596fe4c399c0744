// resize's vector loops (host/ops/resize_hwy.cpp), on the best SIMD target the CPU has.
#pragma once

#include <cstdint>

namespace tandem::simd {
/// One output row of a u8 image halved exactly in both directions: out[x] (dw pixels of
/// `channels` = 1, 3 or 4) from source rows r0 and r1 (2 * dw pixels each), each channel
/// (a + b + c + d + 2) >> 2 of its 2x2 block.
void resize_u8_half_row(const std::uint8_t* r0, const std::uint8_t* r1, std::uint8_t* out, std::int64_t dw,
                        int channels);

/// The horizontal pass of u8 with `channels` = 3 or 4, one output pixel d < n at a time:
/// h[d * channels + c] = s[x0[d] + c] * w0[d] + s[x1[d] + c] * w1[d] (11-bit weights, scale
/// 2^11). Writes 4 ints per pixel (h needs 1 int of slack for 3 channels); every
/// x0[d] + 4 and x1[d] + 4 must stay within the row.
void resize_u8_hrow_px(const std::uint8_t* s, int* h, const int* x0, const int* x1, const int* w0, const int* w1,
                       std::int64_t n, int channels);
}  // namespace tandem::simd
