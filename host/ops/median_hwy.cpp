// median's vector code: the selection networks for K = 3 (sorted columns of
// the source rows) and K = 5, 7 (over a ring of edge-padded rows), compiled
// once per SIMD target (Highway's foreach_target; the networks are min/max
// sequences of kernels/median.cuh that GCC vectorises across the row for each
// target), and the OpenMP loop that dispatches them.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/median_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "host/ops/neighbourhood.hpp"
#include "kernels/median.cuh"

HWY_BEFORE_NAMESPACE();
namespace tandem::nbh::HWY_NAMESPACE {

// Copies source row `y` into `dst` with r replicated pixels on each side.
template <class T, int C>
HWY_INLINE void PadRow(const T* src, T* dst, int W, int r) {
  std::memcpy(dst + r * C, src, sizeof(T) * std::size_t(W) * C);
  for (int i = 0; i < r; ++i)
    for (int c = 0; c < C; ++c) {
      dst[i * C + c] = src[c];
      dst[(r + W + i) * C + c] = src[(W - 1) * C + c];
    }
}

template <class T, int C, int K>
HWY_INLINE void RowNetwork(const T* const* rows, T* HWY_RESTRICT out, int n) {
  constexpr int r = K / 2;
  const T* HWY_RESTRICT w[K];
  for (int i = 0; i < K; ++i) w[i] = rows[i] + r * C;  // pixel 0 of each padded row
  for (int i = 0; i < n; ++i) {
    T v[K * K];
    TANDEM_MEDIAN_UNROLL
    for (int dy = 0; dy < K; ++dy) {
      TANDEM_MEDIAN_UNROLL
      for (int dx = 0; dx < K; ++dx) v[dy * K + dx] = w[dy][i + (dx - r) * C];
    }
    out[i] = kern::median_of<T, K * K>(v);
  }
}

// K = 3: sort every column of the three rows once (n elements of the padded
// rows), then combine three neighbouring sorted columns per output.
template <class T>
HWY_INLINE void Median3SortColumns(const T* HWY_RESTRICT r0, const T* HWY_RESTRICT r1, const T* HWY_RESTRICT r2,
                                            T* HWY_RESTRICT lo, T* HWY_RESTRICT mid, T* HWY_RESTRICT hi, int n) {
  for (int i = 0; i < n; ++i) {
    T a = r0[i], b = r1[i], c = r2[i];
    kern::sort3(a, b, c);
    lo[i] = a;
    mid[i] = b;
    hi[i] = c;
  }
}

template <class T, int C>
HWY_INLINE void Median3Combine(const T* HWY_RESTRICT lo, const T* HWY_RESTRICT mid, const T* HWY_RESTRICT hi,
                                       T* HWY_RESTRICT out, int n) {
  for (int i = 0; i < n; ++i)
    out[i] = kern::median3x3_sorted_columns(lo[i], lo[i + C], lo[i + 2 * C], mid[i], mid[i + C], mid[i + 2 * C],
                                            hi[i], hi[i + C], hi[i + 2 * C]);
}

// Output rows y0 .. y1 for K = 3 (C channels), straight from the source rows:
// the columns of three rows are sorted in pieces of 4 KiB (lo, mid, hi in
// `scratch`, read back from L1), and the replicated pixel beyond each edge has
// the sorted column of the edge pixel, copied rather than padded into a row.
template <class T, int C>
void Median3Rows(const View& src, const View& dst, int y0, int y1, std::byte* scratch, std::size_t row_bytes) {
  const int H = int(src.height()), WC = int(src.width()) * C;
  T* lo = reinterpret_cast<T*>(scratch);
  T* mid = reinterpret_cast<T*>(scratch + row_bytes);
  T* hi = reinterpret_cast<T*>(scratch + 2 * row_bytes);
  constexpr int kPiece = int(4096 / sizeof(T));
  for (int y = y0; y < y1; ++y) {
    const T* s0 = src.row<const T>(kern::clamp_index(y - 1, H));
    const T* s1 = src.row<const T>(y);
    const T* s2 = src.row<const T>(kern::clamp_index(y + 1, H));
    for (int x0 = 0; x0 < WC; x0 += kPiece) {
      const int n = std::min(kPiece, WC - x0);
      // Column j of the piece (0 .. n + 2C) is source element x0 - C + j.
      const int a = std::max(0, x0 - C), b = std::min(WC, x0 + n + C), at = a - (x0 - C);
      Median3SortColumns<T>(s0 + a, s1 + a, s2 + a, lo + at, mid + at, hi + at, b - a);
      if (x0 == 0)
        for (int c = 0; c < C; ++c) lo[c] = lo[C + c], mid[c] = mid[C + c], hi[c] = hi[C + c];
      if (x0 + n == WC)
        for (int c = n + C; c < n + 2 * C; ++c) lo[c] = lo[c - C], mid[c] = mid[c - C], hi[c] = hi[c - C];
      Median3Combine<T, C>(lo, mid, hi, dst.row<T>(y) + x0, n);
    }
  }
}

// Output rows y0 .. y1 for K = 5, 7 (C channels). `ring` holds K padded
// rows of row_bytes each.
template <class T, int C, int K>
void NetworkRows(const View& src, const View& dst, int y0, int y1, std::byte* ring, std::size_t row_bytes) {
  constexpr int r = K / 2;
  const int H = int(src.height()), W = int(src.width());
  // Window row yy (unclamped) lives in slot yy mod K.
  auto slot = [&](int yy) { return reinterpret_cast<T*>(ring + row_bytes * std::size_t(((yy % K) + K) % K)); };
  auto fill = [&](int yy) { PadRow<T, C>(src.row<const T>(kern::clamp_index(yy, H)), slot(yy), W, r); };
  if (y0 < y1)
    for (int yy = y0 - r; yy < y0 + r; ++yy) fill(yy);
  const T* rows[K];
  for (int y = y0; y < y1; ++y) {
    fill(y + r);
    for (int dy = 0; dy < K; ++dy) rows[dy] = slot(y - r + dy);
    RowNetwork<T, C, K>(rows, dst.row<T>(y), W * C);
  }
}

template <class T, int C>
void NetworkRowsK(const View& src, const View& dst, int k, int y0, int y1, std::byte* ring, std::size_t row_bytes) {
  if (k == 3) return Median3Rows<T, C>(src, dst, y0, y1, ring, row_bytes);
  if (k == 5) return NetworkRows<T, C, 5>(src, dst, y0, y1, ring, row_bytes);
  return NetworkRows<T, C, 7>(src, dst, y0, y1, ring, row_bytes);
}

template <class T>
void NetworkRowsCK(const View& src, const View& dst, int k, int y0, int y1, std::byte* ring, std::size_t row_bytes) {
  const int c = int(src.channels());
  if (c == 1) return NetworkRowsK<T, 1>(src, dst, k, y0, y1, ring, row_bytes);
  if (c == 3) return NetworkRowsK<T, 3>(src, dst, k, y0, y1, ring, row_bytes);
  return NetworkRowsK<T, 4>(src, dst, k, y0, y1, ring, row_bytes);
}

void MedianRowsU8(const View& src, const View& dst, int k, int y0, int y1, std::byte* ring, std::size_t row_bytes) {
  NetworkRowsCK<std::uint8_t>(src, dst, k, y0, y1, ring, row_bytes);
}
void MedianRowsU16(const View& src, const View& dst, int k, int y0, int y1, std::byte* ring, std::size_t row_bytes) {
  NetworkRowsCK<std::uint16_t>(src, dst, k, y0, y1, ring, row_bytes);
}
void MedianRowsF32(const View& src, const View& dst, int k, int y0, int y1, std::byte* ring, std::size_t row_bytes) {
  NetworkRowsCK<float>(src, dst, k, y0, y1, ring, row_bytes);
}

}  // namespace tandem::nbh::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tandem::nbh {

HWY_EXPORT(MedianRowsU8);
HWY_EXPORT(MedianRowsU16);
HWY_EXPORT(MedianRowsF32);

Status median_network_cpu(const View& src, const View& dst, int k, int threads) {
  TANDEM_TRY(detail::simd_ready());
  const int r = k / 2, H = int(src.height()), W = int(src.width());
  const int nt = std::max(1, std::min(threads, H));
  const std::size_t row_bytes = (std::size_t(W + 2 * r) * src.channels() * src.elem_size() + 63) / 64 * 64;
  Scratch<std::byte> scratch;
  TANDEM_TRY(scratch.allocate(nt, row_bytes * std::size_t(k)));  // K = 3: lo, mid, hi
  const auto rows = src.dtype == DType::u8    ? &HWY_DYNAMIC_DISPATCH(MedianRowsU8)
                    : src.dtype == DType::u16 ? &HWY_DYNAMIC_DISPATCH(MedianRowsU16)
                                              : &HWY_DYNAMIC_DISPATCH(MedianRowsF32);
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
    rows(src, dst, k, int(std::int64_t(H) * t / n), int(std::int64_t(H) * (t + 1) / n), scratch.slice(t), row_bytes);
  }
  return {};
}

}  // namespace tandem::nbh
#endif  // HWY_ONCE
