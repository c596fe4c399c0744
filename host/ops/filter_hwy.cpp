// filter's vector code (Highway): the 2-D correlation of one tile, compiled
// once per SIMD target, and the OpenMP loop over tiles that dispatches it.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/filter_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "host/ops/neighbourhood-inl.h"
#include "host/ops/neighbourhood.hpp"
#include "kernels/filter.cuh"

#ifndef TANDEM_FILTER_HWY_ONCE_
#define TANDEM_FILTER_HWY_ONCE_
namespace tandem::nbh {
struct Tap {
  int dy, dx;  // position in the kernel
  float w;
};

struct Correlation {
  const View* src;
  const View* dst;
  int kh, kw;
  const Tap* taps;       // the non-zero weights, row-major
  const float* weights;  // taps[t].w, contiguous
  int ntaps;
  kern::BorderMode mode;
  float cval;
};

}  // namespace tandem::nbh
#endif

HWY_BEFORE_NAMESPACE();
namespace tandem::nbh::HWY_NAMESPACE {

// One tile (columns x0..x1, rows y0..y1): its input rows are converted to
// float with their borders once, into a ring of kh bordered rows (in L2), and
// each output row is a register-blocked weighted sum over the non-zero taps.
template <class T>
void FilterTile(const Correlation& f, int x0, int x1, int y0, int y1, float* acc, float* ring,
                                   std::size_t slot) {
  const int height = int(f.src->height()), width = int(f.src->width()), ch = int(f.src->channels());
  const int kh = f.kh, ry = f.kh / 2, rx = f.kw / 2;
  const int n = (x1 - x0) * ch;
  const float* p[kFilterMaxTaps];  // each tap's row, shifted to its column
  for (int j = 0; j < y1 - y0 + 2 * ry; ++j) {
    const int sy = kern::border_index(y0 - ry + j, height, f.mode);
    LoadRow<T>(ring + std::size_t(j % kh) * slot, sy < 0 ? nullptr : f.src->row<const T>(sy), x0 - rx,
                            x1 + rx, width, ch, f.mode, f.cval);
    if (j < 2 * ry) continue;
    const int first = j - 2 * ry;  // ring row of kernel row 0
    for (int t = 0; t < f.ntaps; ++t) {
      const Tap& tap = f.taps[t];
      p[t] = ring + std::size_t((first + tap.dy) % kh) * slot + std::size_t(tap.dx) * ch;
    }
    if (f.ntaps == 0) {
      std::fill_n(acc, n, 0.f);
    } else {
      WeightedSum(acc, p, f.weights, f.ntaps, n);
    }
    StoreRounded<T, true>(f.dst->row<T>(y0 + first) + std::size_t(x0) * ch, acc, n);
  }
}

void FilterTileU8(const Correlation& f, int x0, int x1, int y0, int y1, float* acc, float* ring, std::size_t slot) {
  FilterTile<std::uint8_t>(f, x0, x1, y0, y1, acc, ring, slot);
}
void FilterTileU16(const Correlation& f, int x0, int x1, int y0, int y1, float* acc, float* ring, std::size_t slot) {
  FilterTile<std::uint16_t>(f, x0, x1, y0, y1, acc, ring, slot);
}
void FilterTileF32(const Correlation& f, int x0, int x1, int y0, int y1, float* acc, float* ring, std::size_t slot) {
  FilterTile<float>(f, x0, x1, y0, y1, acc, ring, slot);
}

void StoreSaturatedU8(std::uint8_t* out, const float* in, int n) { StoreRounded<std::uint8_t, true>(out, in, n); }
void StoreSaturatedU16(std::uint16_t* out, const float* in, int n) { StoreRounded<std::uint16_t, true>(out, in, n); }

}  // namespace tandem::nbh::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::nbh {

HWY_EXPORT(FilterTileU8);
HWY_EXPORT(FilterTileU16);
HWY_EXPORT(FilterTileF32);
HWY_EXPORT(StoreSaturatedU8);
HWY_EXPORT(StoreSaturatedU16);

void store_saturated(std::uint8_t* out, const float* in, int n) { HWY_DYNAMIC_DISPATCH(StoreSaturatedU8)(out, in, n); }
void store_saturated(std::uint16_t* out, const float* in, int n) {
  HWY_DYNAMIC_DISPATCH(StoreSaturatedU16)(out, in, n);
}

// Cache-blocked 2-D correlation: column blocks x strips, one tile per OpenMP task.
Status filter_cpu(const View& src, const View& dst, const Matrix& kernel, kern::BorderMode mode, float cval,
                  int threads) {
  TANDEM_TRY(detail::simd_ready());
  const int height = int(src.height()), width = int(src.width()), ch = int(src.channels());
  const int kh = kernel.rows, kw = kernel.cols;
  Scratch<Tap> tap_buf;  // Status-returning allocation: the API never throws
  TANDEM_TRY(tap_buf.allocate(1, std::size_t(kh) * kw));
  Scratch<float> weight_buf;
  TANDEM_TRY(weight_buf.allocate(1, std::size_t(kh) * kw));
  Tap* taps = tap_buf.slice(0);
  float* weights = weight_buf.slice(0);
  int ntaps = 0;
  for (int i = 0; i < kh; ++i)
    for (int j = 0; j < kw; ++j) {
      const float w = static_cast<float>(kernel.values[std::size_t(i) * kw + j]);
      if (w != 0.f) {
        weights[ntaps] = w;
        taps[ntaps++] = Tap{i, j, w};
      }
    }
  const TilePlan plan = plan_tiles(height, width, ch, kh, kh, threads);
  const int nt = std::max(1, std::min(threads, plan.tiles()));
  const std::size_t slot = pad16(std::size_t(plan.tw + kw - 1) * ch);
  const std::size_t acc_len = pad16(std::size_t(plan.tw) * ch);
  Scratch<float> scratch;
  TANDEM_TRY(scratch.allocate(nt, acc_len + slot * std::size_t(kh)));
  const Correlation f{&src, &dst, kh, kw, taps, weights, ntaps, mode, cval};
  const auto tile = src.dtype == DType::u8    ? &HWY_DYNAMIC_DISPATCH(FilterTileU8)
                    : src.dtype == DType::u16 ? &HWY_DYNAMIC_DISPATCH(FilterTileU16)
                                              : &HWY_DYNAMIC_DISPATCH(FilterTileF32);

#pragma omp parallel num_threads(nt)
  {
    float* acc = scratch.slice(omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < plan.tiles(); ++t) {
      const int x0 = (t % plan.ntx) * plan.tw, y0 = (t / plan.ntx) * plan.th;
      tile(f, x0, std::min(width, x0 + plan.tw), y0, std::min(height, y0 + plan.th), acc, acc + acc_len,
                     slot);
    }
  }
  return {};
}

}  // namespace tandem::nbh
#endif  // HWY_ONCE
