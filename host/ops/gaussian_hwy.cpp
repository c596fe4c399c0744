// gaussian's vector code (Highway): the separable blur of one tile, compiled
// once per SIMD target, and the OpenMP loop over tiles that dispatches it.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/gaussian_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

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

}  // namespace tandem::nbh::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::nbh {

HWY_EXPORT(GaussianTileU8);
HWY_EXPORT(GaussianTileU16);
HWY_EXPORT(GaussianTileF32);

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

}  // namespace tandem::nbh
#endif  // HWY_ONCE
