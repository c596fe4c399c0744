// resize's vector loops (host/ops/resize_hwy.cpp), on the best SIMD target the CPU has.
#pragma once

#include <cstdint>

namespace tandem::simd {
/// One output row of a u8 image halved exactly in both directions: out[x] (dw pixels of
/// `channels` = 1, 3 or 4) from source rows r0 and r1 (2 * dw pixels each), each channel
/// (a + b + c + d + 2) >> 2 of its 2x2 block.
void resize_u8_half_row(const std::uint8_t* r0, const std::uint8_t* r1, std::uint8_t* out, std::int64_t dw,
                        int channels);

/// u8 with `channels` = 3 or 4, rows first, then along the blended row by whole pixels d < n:
/// out[d * channels + c] = kern::resize_round_fixed(v[x0[d] - origin + c] * w0 +
/// v[x1[d] - origin + c] * w1), the weights as for resize_u8_hrow_px (v holds the blended
/// row from element `origin` on). Writes exactly n * channels bytes; v needs 4 readable ints
/// from every x0[d] - origin and x1[d] - origin.
void resize_u8_hgather_px(const int* v, int origin, std::uint8_t* out, const int* x0, const int* x1,
                          const int* w0x4, const int* w1x4, std::int64_t n, int channels);
/// The horizontal pass of u8 with `channels` = 3 or 4, by whole pixels d < n:
/// h[d * channels + c] = s[x0[d] + c] * w0 + s[x1[d] + c] * w1 (11-bit weights, scale 2^11),
/// where w0x4[4d .. 4d + 3] and w1x4[4d .. 4d + 3] each hold the pixel's weight 4 times.
/// Writes up to 4 ints past the last pixel (h needs that slack); every x0[d] + 4 and
/// x1[d] + 4 must stay within the row.
void resize_u8_hrow_px(const std::uint8_t* s, int* h, const int* x0, const int* x1, const int* w0x4,
                       const int* w1x4, std::int64_t n, int channels);

// The general path, element by element (n elements; channels interleaved). Taps: source
// element indices i0, i1 with weights w0, w1 (int: 11-bit fixed point; float).
/// out[i] = s[i] widened: u8 -> int, u16 -> float.
void resize_widen(const std::uint8_t* s, int* out, std::int64_t n);
void resize_widen(const std::uint16_t* s, float* out, std::int64_t n);
/// Horizontal pass: h[i] = s[i0[i]] * w0[i] + s[i1[i]] * w1[i] (float: each step rounded).
void resize_hrow(const int* s, int* h, const int* i0, const int* i1, const int* w0, const int* w1, std::int64_t n);
void resize_hrow(const float* s, float* h, const int* i0, const int* i1, const float* w0, const float* w1,
                 std::int64_t n);
/// Vertical pass of two horizontal results with row weights b0, b1, stored as the image's
/// type (kern::resize_v_fixed for u8; kern::resize_lerp then kern::resize_store).
void resize_vrow(const int* h0, const int* h1, std::uint8_t* out, int b0, int b1, std::int64_t n);
void resize_vrow(const float* h0, const float* h1, std::uint16_t* out, float b0, float b1, std::int64_t n);
void resize_vrow(const float* h0, const float* h1, float* out, float b0, float b1, std::int64_t n);
/// u8, rows first: v[i] = s0[i] * b0 + s1[i] * b1; next0 and next1 (or null) are the
/// source rows the next call will blend, prefetched meanwhile.
void resize_u8_vblend(const std::uint8_t* s0, const std::uint8_t* s1, int* v, int b0, int b1, std::int64_t n,
                      const std::uint8_t* next0, const std::uint8_t* next1);
/// u8 with one channel, then along the blended row (held in v from element `origin` on):
/// out[x] = kern::resize_round_fixed(v[i0[x] - origin] * w0[x] + v[i0[x] - origin + 1] * w1[x])
/// for x < n (the second tap of a one-channel kern::linear_tap is i0 + 1, or has weight 0).
/// v needs one readable int past the last i0 - origin.
void resize_u8_hgather_pairs(const int* v, int origin, std::uint8_t* out, const int* i0, const int* w0,
                             const int* w1, std::int64_t n);
}  // namespace tandem::simd
