// gaussian's vector code (Highway): the separable blur of one tile, compiled
// once per SIMD target, and the OpenMP loop over tiles that dispatches it.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/gaussian_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "host/core/simd.hpp"
#include "host/ops/neighbourhood-inl.h"
#include "host/ops/neighbourhood.hpp"
#include "kernels/gaussian.cuh"

#ifndef TANDEM_GAUSSIAN_HWY_ONCE_
#define TANDEM_GAUSSIAN_HWY_ONCE_
namespace tandem::nbh {
struct Blur {
  const View* src;
  const View* dst;
  const float* w;
  int r;
  kern::BorderMode mode;
  float cval;
};
// Output rows made together by the vertical pass.
constexpr int kRowsAtOnce = 4;
// The u8 fixed-point blur (kernels/gaussian.cuh): q the 2r+1 integer weights,
// hconst the horizontal pass of a row of cval.
struct BlurFx {
  const View* src;
  const View* dst;
  const std::uint16_t* q;
  int r;
  kern::BorderMode mode;
  std::uint8_t cval;
  std::uint16_t hconst;
};
}  // namespace tandem::nbh
#endif

HWY_BEFORE_NAMESPACE();
namespace tandem::nbh::HWY_NAMESPACE {

// One tile (columns x0..x1, rows y0..y1): its input rows are blurred
// horizontally once, into a ring of 2r+kRowsAtOnce float rows, and output
// rows are made kRowsAtOnce at a time by the vertical pass over the ring (the
// 2r+kRowsAtOnce rows they need are read once for all of them: the ring
// outgrows L1, so that cuts the L2 traffic), the last rows one by one.
// `ext` holds one bordered input row; acc holds kRowsAtOnce rows.
template <class T>
void GaussianTile(const Blur& b, int x0, int x1, int y0, int y1, float* ext, float* acc, float* ring,
                  std::size_t slot) {
  const int height = int(b.src->height()), width = int(b.src->width()), ch = int(b.src->channels());
  const int r = b.r, taps = 2 * r + 1, slots = taps + kRowsAtOnce - 1, rows = y1 - y0;
  const int grouped = rows / kRowsAtOnce * kRowsAtOnce;  // rows made in groups
  const int n = (x1 - x0) * ch;
  float* outs[kRowsAtOnce];
  for (int q = 0; q < kRowsAtOnce; ++q) outs[q] = acc + std::size_t(q) * slot;
  // The taps of the horizontal pass: ext shifted by k pixels.
  const float* hp[2 * kGaussianMaxRadius + 1];
  for (int k = 0; k < taps; ++k) hp[k] = ext + std::size_t(k) * ch;
  // The rows of the vertical window, oldest first.
  const float* vp[2 * kGaussianMaxRadius + kRowsAtOnce];
  const auto store = [&](int o, const float* a) {
    // Positive normalised weights keep results within the input's range.
    StoreRounded<T, false>(b.dst->row<T>(y0 + o) + std::size_t(x0) * ch, a, n);
  };
  for (int j = 0; j < rows + 2 * r; ++j) {
    float* h = ring + std::size_t(j % slots) * slot;
    const int sy = kern::border_index(y0 - r + j, height, b.mode);
    if (sy < 0) {
      // A row outside the image in constant mode: every pixel is cval, and
      // the normalised horizontal pass leaves it so.
      std::fill_n(h, n, b.cval);
    } else {
      LoadRow<T>(ext, b.src->row<const T>(sy), x0 - r, x1 + r, width, ch, b.mode, b.cval);
      SymmetricSum(h, hp, b.w, r, n);
    }
    const int o = j - 2 * r;  // the output row whose window ends at row j
    if (o < 0) continue;
    if (o < grouped) {
      if (o % kRowsAtOnce == kRowsAtOnce - 1) {  // rows o-R+1 .. o, from input rows o-R+1 .. o+2r
        const int first = o - (kRowsAtOnce - 1);
        for (int k = 0; k < slots; ++k) vp[k] = ring + std::size_t((first + k) % slots) * slot;
        WeightedSumRows4(outs, vp, b.w, taps, n);
        for (int q = 0; q < kRowsAtOnce; ++q) store(first + q, outs[q]);
      }
    } else {
      for (int k = 0; k < taps; ++k) vp[k] = ring + std::size_t((o + k) % slots) * slot;
      WeightedSum(acc, vp, b.w, taps, n);
      store(o, acc);
    }
  }
}

void GaussianTileU8(const Blur& b, int x0, int x1, int y0, int y1, float* ext, float* acc, float* ring,
                    std::size_t slot) {
  GaussianTile<std::uint8_t>(b, x0, x1, y0, y1, ext, acc, ring, slot);
}
void GaussianTileU16(const Blur& b, int x0, int x1, int y0, int y1, float* ext, float* acc, float* ring,
                     std::size_t slot) {
  GaussianTile<std::uint16_t>(b, x0, x1, y0, y1, ext, acc, ring, slot);
}
void GaussianTileF32(const Blur& b, int x0, int x1, int y0, int y1, float* ext, float* acc, float* ring,
                     std::size_t slot) {
  GaussianTile<float>(b, x0, x1, y0, y1, ext, acc, ring, slot);
}


// ---------------------------------------------------------------------------
// The u8 fixed-point path: 16-bit lanes (twice float's), the integer steps of
// kern::gauss_fx_sum / gauss_fx_finish in both passes.

using D16 = hn::ScalableTag<std::uint16_t>;

/// Elements [i, i + Lanes(d)) of one fixed-point pass over the rows p[0..2r]:
/// mulhi(p[r], q[r]) + sum_{k<r} mulhi(p[k] + p[2r-k], q[k]) (the sums fit 16 bits).
template <class D>
HWY_INLINE hn::Vec<D> FxSum(D d, const std::uint16_t* const* HWY_RESTRICT p, const std::uint16_t* HWY_RESTRICT q,
                            int r, std::size_t i) {
  auto s = hn::MulHigh(hn::LoadU(d, p[r] + i), hn::Set(d, q[r]));
  for (int k = 0; k < r; ++k)
    s = hn::Add(s, hn::MulHigh(hn::Add(hn::LoadU(d, p[k] + i), hn::LoadU(d, p[2 * r - k] + i)), hn::Set(d, q[k])));
  return s;
}

/// One fixed-point pass over elements [0, n): sink(d, sum, i) for each vector,
/// two vectors at a time (independent chains), then single vectors, then one lane.
template <class Sink>
HWY_INLINE void FxPass(const std::uint16_t* const* HWY_RESTRICT p, const std::uint16_t* HWY_RESTRICT q, int r, int n,
                       const Sink& sink) {
  const D16 d;
  const std::size_t N = hn::Lanes(d), e = std::size_t(n);
  std::size_t i = 0;
  for (; i + 2 * N <= e; i += 2 * N) {
    const auto wc = hn::Set(d, q[r]);
    auto s0 = hn::MulHigh(hn::LoadU(d, p[r] + i), wc), s1 = hn::MulHigh(hn::LoadU(d, p[r] + i + N), wc);
    for (int k = 0; k < r; ++k) {
      const std::uint16_t* HWY_RESTRICT lo = p[k] + i;
      const std::uint16_t* HWY_RESTRICT hi = p[2 * r - k] + i;
      const auto wk = hn::Set(d, q[k]);
      s0 = hn::Add(s0, hn::MulHigh(hn::Add(hn::LoadU(d, lo), hn::LoadU(d, hi)), wk));
      s1 = hn::Add(s1, hn::MulHigh(hn::Add(hn::LoadU(d, lo + N), hn::LoadU(d, hi + N)), wk));
    }
    sink(d, s0, i);
    sink(d, s1, i + N);
  }
  for (; i + N <= e; i += N) sink(d, FxSum(d, p, q, r, i), i);
  const hn::CappedTag<std::uint16_t, 1> d1;
  for (; i < e; ++i) sink(d1, FxSum(d1, p, q, r, i), i);
}

/// out[] = pixels xb .. xe-1 of `row` (all channels) times 2^kGaussFxBits,
/// pixels outside [0, width) made up by the border rule (cval outside in
/// constant mode).
HWY_INLINE void LoadRowFx(std::uint16_t* HWY_RESTRICT out, const std::uint8_t* HWY_RESTRICT row, int xb, int xe,
                          int width, int ch, kern::BorderMode mode, std::uint8_t cval) {
  const int ib = std::clamp(0, xb, xe), ie = std::clamp(width, xb, xe);  // in-image part [ib, ie)
  const auto outside = [&](int x) {
    const int sx = kern::border_index(x, width, mode);
    for (int c = 0; c < ch; ++c)
      out[(x - xb) * ch + c] = std::uint16_t((sx < 0 ? cval : row[sx * ch + c]) << kern::kGaussFxBits);
  };
  for (int x = xb; x < ib; ++x) outside(x);
  std::uint16_t* HWY_RESTRICT o = out + (ib - xb) * ch;
  const std::uint8_t* HWY_RESTRICT in = row + ib * ch;
  const int n = (ie - ib) * ch;
  const D16 d;
  const hn::Rebind<std::uint8_t, D16> d8;
  const int N = int(hn::Lanes(d));
  int i = 0;
  for (; i + N <= n; i += N) hn::StoreU(hn::ShiftLeft<kern::kGaussFxBits>(hn::PromoteTo(d, hn::LoadU(d8, in + i))), d, o + i);
  for (; i < n; ++i) o[i] = std::uint16_t(in[i] << kern::kGaussFxBits);
  for (int x = std::max(ie, xb); x < xe; ++x) outside(x);
}

// One tile of the fixed-point blur: each input row is extended by the border
// rule, passed horizontally into a ring of 2r+1 16-bit rows, and every output
// row is the vertical pass over the ring, finished and stored as u8.
void GaussianTileFx(const BlurFx& b, int x0, int x1, int y0, int y1, std::uint16_t* ext, std::uint16_t* ring,
                    std::size_t slot) {
  const int height = int(b.src->height()), width = int(b.src->width()), ch = int(b.src->channels());
  const int r = b.r, taps = 2 * r + 1, rows = y1 - y0, n = (x1 - x0) * ch;
  const std::uint16_t* hp[2 * kern::kGaussFxMaxRadius + 1];
  for (int k = 0; k < taps; ++k) hp[k] = ext + std::size_t(k) * ch;
  const std::uint16_t* vp[2 * kern::kGaussFxMaxRadius + 1];
  const auto round_add = std::uint16_t((1 << (kern::kGaussFxBits - 1)) + r + 1);
  for (int j = 0; j < rows + 2 * r; ++j) {
    std::uint16_t* HWY_RESTRICT h = ring + std::size_t(j % taps) * slot;
    const int sy = kern::border_index(y0 - r + j, height, b.mode);
    if (sy < 0) {
      std::fill_n(h, n, b.hconst);
    } else {
      LoadRowFx(ext, b.src->row<const std::uint8_t>(sy), x0 - r, x1 + r, width, ch, b.mode, b.cval);
      // The next source row is prefetched while this one is passed (a prefetch per vector
      // of the pass at the same offset into that row, so every line of it is touched): the
      // loads of each new row waited on memory for about a quarter of the time (perf,
      // 4096x4096 sigma 1), the hardware prefetchers keeping too little ahead of it.
      const int ny = j + 1 < rows + 2 * r ? kern::border_index(y0 - r + j + 1, height, b.mode) : -1;
      if (ny >= 0) {
        const std::uint8_t* next = b.src->row<const std::uint8_t>(ny) + std::size_t(x0) * ch;
        FxPass(hp, b.q, r, n, [&](auto d, auto v, std::size_t i) {
          prefetch_to_l2(next + i);
          hn::StoreU(v, d, h + i);
        });
      } else {
        FxPass(hp, b.q, r, n, [&](auto d, auto v, std::size_t i) { hn::StoreU(v, d, h + i); });
      }
    }
    const int o = j - 2 * r;  // the output row whose window ends at row j
    if (o < 0) continue;
    for (int k = 0; k < taps; ++k) vp[k] = ring + std::size_t((o + k) % taps) * slot;
    std::uint8_t* HWY_RESTRICT out = b.dst->row<std::uint8_t>(y0 + o) + std::size_t(x0) * ch;
    FxPass(vp, b.q, r, n, [&](auto d, auto v, std::size_t i) {
      // (s + 64 + r + 1) >> 7 is at most 255 here (s <= 32640, r <= 30)
      const auto u = hn::ShiftRight<kern::kGaussFxBits>(hn::Add(v, hn::Set(d, round_add)));
      const hn::Rebind<std::uint8_t, decltype(d)> d8;
      hn::StoreU(hn::DemoteTo(d8, hn::BitCast(hn::RebindToSigned<decltype(d)>(), u)), d8, out + i);
    });
  }
}

}  // namespace tandem::nbh::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::nbh {

HWY_EXPORT(GaussianTileU8);
HWY_EXPORT(GaussianTileU16);
HWY_EXPORT(GaussianTileF32);
HWY_EXPORT(GaussianTileFx);

// Cache-blocked separable blur: column blocks x strips, one tile per OpenMP task.
Status gaussian_cpu(const View& src, const View& dst, const float* w, int r, kern::BorderMode mode, float cval,
                    int threads) {
  TANDEM_TRY(detail::simd_ready());
  const int height = int(src.height()), width = int(src.width()), ch = int(src.channels());
  const int taps = 2 * r + 1;
  const TilePlan plan = plan_tiles(height, width, ch, taps, taps, threads);
  const int nt = std::max(1, std::min(threads, plan.tiles()));
  const std::size_t ext_len = pad16(std::size_t(plan.tw + 2 * r) * ch);
  const std::size_t slot = pad16(std::size_t(plan.tw) * ch);
  Scratch<float> scratch;
  // ext, kRowsAtOnce rows of acc, a ring of taps + kRowsAtOnce - 1 rows
  TANDEM_TRY(scratch.allocate(nt, ext_len + slot * std::size_t(taps + 2 * kRowsAtOnce - 1)));
  const Blur blur{&src, &dst, w, r, mode, cval};
  const auto tile = src.dtype == DType::u8    ? HWY_DYNAMIC_DISPATCH(GaussianTileU8)
                    : src.dtype == DType::u16 ? HWY_DYNAMIC_DISPATCH(GaussianTileU16)
                                              : HWY_DYNAMIC_DISPATCH(GaussianTileF32);

#pragma omp parallel num_threads(nt)
  {
    float* ext = scratch.slice(omp_get_thread_num());
    float* acc = ext + ext_len;
    float* ring = acc + kRowsAtOnce * slot;
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < plan.tiles(); ++t) {
      const int x0 = (t % plan.ntx) * plan.tw, y0 = (t / plan.ntx) * plan.th;
      tile(blur, x0, std::min(width, x0 + plan.tw), y0, std::min(height, y0 + plan.th), ext, acc, ring, slot);
    }
  }
  return {};
}

Status gaussian_fixed_cpu(const View& src, const View& dst, const std::uint16_t* q, int r, kern::BorderMode mode,
                          std::uint8_t cval, int threads) {
  TANDEM_TRY(detail::simd_ready());
  const int height = int(src.height()), width = int(src.width()), ch = int(src.channels());
  const int taps = 2 * r + 1;
  // 16-bit rows: half the bytes of a float row, so twice the window fits the
  // budget; rows up to 16K elements (not the float path's 2048): full-width
  // strips read the image as one stream, which the prefetchers keep ahead of.
  const TilePlan plan = plan_tiles(height, width, ch, (taps + 1) / 2, taps, threads, 16384);
  const int nt = std::max(1, std::min(threads, plan.tiles()));
  // Rows an odd number of 64-byte lines apart: rows a multiple of 4 KB apart
  // would share the L1's sets (and 4 KB aliasing would stall the loads).
  const auto lines = [](std::size_t e) { return ((e + 31) / 32) | 1; };  // 32 elements: 64 bytes
  const std::size_t ext_len = lines(std::size_t(plan.tw + 2 * r) * ch) * 32;
  const std::size_t slot = lines(std::size_t(plan.tw) * ch) * 32;
  Scratch<std::uint16_t> scratch;
  TANDEM_TRY(scratch.allocate(nt, ext_len + slot * std::size_t(taps)));  // ext, the ring of taps rows
  const BlurFx blur{&src, &dst, q, r, mode, cval, kern::gauss_fx_const_row(q, r, cval)};
  const auto tile = HWY_DYNAMIC_DISPATCH(GaussianTileFx);

#pragma omp parallel num_threads(nt)
  {
    std::uint16_t* ext = scratch.slice(omp_get_thread_num());
    std::uint16_t* ring = ext + ext_len;
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < plan.tiles(); ++t) {
      const int x0 = (t % plan.ntx) * plan.tw, y0 = (t / plan.ntx) * plan.th;
      tile(blur, x0, std::min(width, x0 + plan.tw), y0, std::min(height, y0 + plan.th), ext, ring, slot);
    }
  }
  return {};
}

}  // namespace tandem::nbh
#endif  // HWY_ONCE
