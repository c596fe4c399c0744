// equalize's table lookup in Highway: compiled once per SIMD target (foreach_target.h), the
// best target the CPU has is picked at run time (HWY_DYNAMIC_DISPATCH). Width-agnostic: the
// 256-entry table is 16 rows of 16 bytes, each repeated in every 128-bit block of a vector;
// TableLookupBytes looks each byte's low nibble up in all 16 rows, and a tree of selects picks
// the row by bits 4, 5, 6 and 7 (each moved to the sign bit of its byte by a 16-bit shift
// left, which does not cross into the bits that matter). The scalar target and the tail
// look each byte up in the table.
#include "host/ops/equalize_hwy.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/equalize_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tandem::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void EqualizeMapRow(const std::uint8_t* HWY_RESTRICT s, std::uint8_t* HWY_RESTRICT d, std::int64_t n,
                    const std::uint8_t* HWY_RESTRICT lut) {
  std::int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<std::uint8_t> du;
  const hn::RebindToSigned<decltype(du)> di;
  const hn::Repartition<std::uint16_t, decltype(du)> dw;
  const std::int64_t L = std::int64_t(hn::Lanes(du));
  const auto r0 = hn::LoadDup128(du, lut), r1 = hn::LoadDup128(du, lut + 16), r2 = hn::LoadDup128(du, lut + 32),
             r3 = hn::LoadDup128(du, lut + 48), r4 = hn::LoadDup128(du, lut + 64),
             r5 = hn::LoadDup128(du, lut + 80), r6 = hn::LoadDup128(du, lut + 96),
             r7 = hn::LoadDup128(du, lut + 112), r8 = hn::LoadDup128(du, lut + 128),
             r9 = hn::LoadDup128(du, lut + 144), r10 = hn::LoadDup128(du, lut + 160),
             r11 = hn::LoadDup128(du, lut + 176), r12 = hn::LoadDup128(du, lut + 192),
             r13 = hn::LoadDup128(du, lut + 208), r14 = hn::LoadDup128(du, lut + 224),
             r15 = hn::LoadDup128(du, lut + 240);
  const auto low4 = hn::Set(du, std::uint8_t(0x0f));
  for (; i + L <= n; i += L) {
    const auto v = hn::LoadU(du, s + i);
    const auto lo = hn::And(v, low4);
    // Bit b of each byte moved to its sign bit: the select of the row pair.
    const auto bit = [&](auto shifted) { return hn::BitCast(di, shifted); };
    const auto b4 = bit(hn::ShiftLeft<3>(hn::BitCast(dw, v)));
    const auto b5 = bit(hn::ShiftLeft<2>(hn::BitCast(dw, v)));
    const auto b6 = bit(hn::ShiftLeft<1>(hn::BitCast(dw, v)));
    const auto b7 = hn::BitCast(di, v);
    const auto pick = [&](decltype(b7) m, decltype(v) a, decltype(v) b) {
      return hn::BitCast(du, hn::IfNegativeThenElse(m, hn::BitCast(di, b), hn::BitCast(di, a)));
    };
    const auto look = [&](decltype(v) row) { return hn::TableLookupBytes(row, lo); };
    const auto p0 = pick(b4, look(r0), look(r1)), p1 = pick(b4, look(r2), look(r3));
    const auto p2 = pick(b4, look(r4), look(r5)), p3 = pick(b4, look(r6), look(r7));
    const auto p4 = pick(b4, look(r8), look(r9)), p5 = pick(b4, look(r10), look(r11));
    const auto p6 = pick(b4, look(r12), look(r13)), p7 = pick(b4, look(r14), look(r15));
    const auto q0 = pick(b5, p0, p1), q1 = pick(b5, p2, p3), q2 = pick(b5, p4, p5), q3 = pick(b5, p6, p7);
    hn::StoreU(pick(b7, pick(b6, q0, q1), pick(b6, q2, q3)), du, d + i);
  }
#endif
  for (; i < n; ++i) d[i] = lut[s[i]];
}

}  // namespace tandem::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::simd {
HWY_EXPORT(EqualizeMapRow);

void equalize_map_row(const std::uint8_t* s, std::uint8_t* d, std::int64_t n, const std::uint8_t* lut) {
  HWY_DYNAMIC_DISPATCH(EqualizeMapRow)(s, d, n, lut);
}
}  // namespace tandem::simd
#endif
