// median's vector code: K = 3 for integers in registers (Highway min / max
// over strips of rows; floats by sorted columns, one element at a time),
// the selection networks for K = 5, 7 (over a ring of edge-padded rows), u8's
// sliding-histogram tile for K >= 9 (16-bin histograms of 8- or 16-bit counts), compiled
// once per SIMD target (Highway's foreach_target; the networks are min/max
// sequences of kernels/median.cuh that GCC vectorises across the row for each
// target), and the OpenMP loop that dispatches them.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "host/ops/median_hwy.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include "host/ops/neighbourhood.hpp"
#include "host/ops/pointops_common.hpp"
#include "kernels/median.cuh"

HWY_BEFORE_NAMESPACE();
namespace tandem::nbh::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

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

// One output row of a K x K network. `rows` are the window's K padded rows;
// the channel count is a run-time stride (it only moves the K x K load
// addresses, so one instantiation serves 1, 3 and 4 channels: the K = 7
// network is most of this file's compile time).
template <class T, int K>
HWY_NOINLINE void RowNetwork(const T* const* rows, int C, T* HWY_RESTRICT out, int n) {
  const T* HWY_RESTRICT w[K];
  for (int dy = 0; dy < K; ++dy) w[dy] = rows[dy];
  int off[K];  // neighbour dx - r of pixel i is element i + off[dx] of a padded row
  for (int dx = 0; dx < K; ++dx) off[dx] = dx * C;
  for (int i = 0; i < n; ++i) {
    T v[K * K];
    TANDEM_MEDIAN_UNROLL
    for (int dy = 0; dy < K; ++dy) {
      TANDEM_MEDIAN_UNROLL
      for (int dx = 0; dx < K; ++dx) v[dy * K + dx] = w[dy][i + off[dx]];
    }
    out[i] = kern::median_of<T, K * K>(v);
  }
}

// K = 3, floats: sort every column of the three rows once (n elements of the
// padded rows), then combine three neighbouring sorted columns per output
// (kern::sort3 and its float order, one element at a time).
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

// Output rows y0 .. y1 for K = 3, floats: the columns of three rows are sorted
// in pieces of 4 KiB (lo, mid, hi in `scratch`, read back from L1), and the
// replicated pixel beyond each edge has the sorted column of the edge pixel,
// copied rather than padded into a row.
template <class T>
void Median3ColumnRows(const View& src, const View& dst, int y0, int y1, std::byte* scratch, std::size_t row_bytes) {
  const int C = int(src.channels()), H = int(src.height()), WC = int(src.width()) * C;
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
      T* out = dst.row<T>(y) + x0;
      for (int i = 0; i < n; ++i)
        out[i] = kern::median3x3_sorted_columns(lo[i], lo[i + C], lo[i + 2 * C], mid[i], mid[i + C], mid[i + 2 * C],
                                                hi[i], hi[i + C], hi[i + 2 * C]);
    }
  }
}

// K = 3, integers (min / max are the compare-exchange), in registers: the
// image is cut into bands of rows and every band into strips one vector wide.
// A strip walks down its band sorting each source row's horizontal triplets
// (element i - C, i, i + C) once, keeps the last two rows' sorted triplets in
// registers and combines three of them per output row: med3(max of the lows,
// median of the middles, min of the highs). Per output vector: three loads,
// 18 min / max, one store, nothing written to or read back from scratch.
template <class D, class V = hn::Vec<D>, class T = hn::TFromD<D>>
HWY_INLINE void SortTriplets(D d, const T* HWY_RESTRICT p, int C, V& lo, V& mid, V& hi) {
  const V a = hn::LoadU(d, p - C), b = hn::LoadU(d, p), c = hn::LoadU(d, p + C);
  const V ab_lo = hn::Min(a, b), ab_hi = hn::Max(a, b);
  lo = hn::Min(ab_lo, c);
  hi = hn::Max(ab_hi, c);
  mid = hn::Max(ab_lo, hn::Min(ab_hi, c));
}

template <class V>
HWY_INLINE V Med3(V a, V b, V c) {
  return hn::Max(hn::Min(a, b), hn::Min(hn::Max(a, b), c));
}

// One strip: output rows y0 .. y1 of the vector at element x. row(y) points
// at element x of source row y (clamped to the image) with elements x - C ..
// x + N + C readable; put(y, v) writes output row y's vector. Two output rows
// at a time share their two middle rows' max of lows, min of highs and the
// order of their middles (16 min / max per output rather than 18).
template <class D, class RowAt, class Put>
HWY_INLINE void Median3Strip(D d, int C, int y0, int y1, const RowAt& row, const Put& put) {
  using V = hn::Vec<D>;
  V l0, m0, h0, l1, m1, h1;
  SortTriplets(d, row(y0 - 1), C, l0, m0, h0);
  SortTriplets(d, row(y0), C, l1, m1, h1);
  int y = y0;
  for (; y + 2 <= y1; y += 2) {
    V l2, m2, h2, l3, m3, h3;
    SortTriplets(d, row(y + 1), C, l2, m2, h2);
    SortTriplets(d, row(y + 2), C, l3, m3, h3);
    const V lo12 = hn::Max(l1, l2), hi12 = hn::Min(h1, h2);
    const V m12_lo = hn::Min(m1, m2), m12_hi = hn::Max(m1, m2);
    put(y, Med3(hn::Max(l0, lo12), hn::Max(m12_lo, hn::Min(m12_hi, m0)), hn::Min(h0, hi12)));
    put(y + 1, Med3(hn::Max(lo12, l3), hn::Max(m12_lo, hn::Min(m12_hi, m3)), hn::Min(hi12, h3)));
    l0 = l2, m0 = m2, h0 = h2;
    l1 = l3, m1 = m3, h1 = h3;
  }
  if (y < y1) {
    V l2, m2, h2;
    SortTriplets(d, row(y + 1), C, l2, m2, h2);
    const V lo = hn::Max(hn::Max(l0, l1), l2), hi = hn::Min(hn::Min(h0, h1), h2);
    put(y, Med3(lo, Med3(m0, m1, m2), hi));
  }
}

// Output rows y0 .. y1 for K = 3, integers, C channels, in bands of rows.
// The strips cover every pixel but the first and last of a row (whose
// triplets reach past the row's ends): the first starts at element C, the
// rest at multiples of N (aligned where the rows are), the last moved back to
// end at WC - C (it overlaps its neighbour). The two edge pixels are computed
// one at a time with the edge column replicated. Rows narrower than a vector
// and two pixels take the column path.
// kC: the channel count, or 0 to read it from the image (3, 4: one instantiation
// for both; gray keeps its constant, which the edge pixels' loops need to be fast).
template <class T, int kC>
void Median3Rows(const View& src, const View& dst, int y0, int y1, std::byte* scratch, std::size_t row_bytes) {
  const hn::ScalableTag<T> d;
  using V = hn::Vec<decltype(d)>;
  const int N = int(hn::Lanes(d)), C = kC ? kC : int(src.channels()), H = int(src.height()), W = int(src.width()),
            WC = W * C;
  if (WC < N + 2 * C) return Median3ColumnRows<T>(src, dst, y0, y1, scratch, row_bytes);
  // Rows per band: 8, or 4 where source and output together fill more than
  // half the shared cache (the band's rows are read from memory as that many
  // concurrent streams; 4096x4096 u8 gray, 1 thread, AVX3: 8 rows 3.2 ms, 4 rows 2.6 ms).
  const int band = pointops::touched_bytes(src, dst) * 2 > detail::shared_cache_bytes() ? 4 : 8;
  auto source = [&](int y) { return src.row<const T>(kern::clamp_index(y, H)); };
  auto edge_pixel = [&](int y, int px) {
    const T* r0 = source(y - 1);
    const T* r1 = source(y);
    const T* r2 = source(y + 1);
    for (int c = 0; c < C; ++c) {
      T lo[3], mid[3], hi[3];
      for (int j = 0; j < 3; ++j) {
        const int e = kern::clamp_index(px - 1 + j, W) * C + c;
        T a = r0[e], b = r1[e], h = r2[e];
        kern::sort3(a, b, h);
        lo[j] = a, mid[j] = b, hi[j] = h;
      }
      dst.row<T>(y)[px * C + c] =
          kern::median3x3_sorted_columns(lo[0], lo[1], lo[2], mid[0], mid[1], mid[2], hi[0], hi[1], hi[2]);
    }
  };
  for (int b0 = y0; b0 < y1; b0 += band) {
    const int b1 = std::min(y1, b0 + band);
    // x = C, then the multiples of N (aligned where rows are), the last moved back to end at WC - C.
    for (int x = C, last = 0; !last; x = (x / N + 1) * N) {
      if (x >= WC - C - N) x = WC - C - N, last = 1;
      Median3Strip(d, C, b0, b1, [&](int y) { return source(y) + x; },
                   [&](int y, V v) { hn::StoreU(v, d, dst.row<T>(y) + x); });
    }
    for (int y = b0; y < b1; ++y) edge_pixel(y, 0), edge_pixel(y, W - 1);
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
    RowNetwork<T, K>(rows, C, dst.row<T>(y), W * C);
  }
}

template <class T, int C>
void NetworkRowsK(const View& src, const View& dst, int k, int y0, int y1, std::byte* ring, std::size_t row_bytes) {
  if (k == 5) return NetworkRows<T, C, 5>(src, dst, y0, y1, ring, row_bytes);
  return NetworkRows<T, C, 7>(src, dst, y0, y1, ring, row_bytes);
}

// K = 3 takes 3 and 4 channels at run time (the count only moves load
// offsets; one instantiation fewer per type and target for a file compiled
// five times in CI); K = 5 and 7 pad their rows per channel count.
template <class T>
void NetworkRowsCK(const View& src, const View& dst, int k, int y0, int y1, std::byte* ring, std::size_t row_bytes) {
  if (k == 3) {
    if constexpr (hwy::IsFloat<T>())
      return Median3ColumnRows<T>(src, dst, y0, y1, ring, row_bytes);
    else if (src.channels() == 1)
      return Median3Rows<T, 1>(src, dst, y0, y1, ring, row_bytes);
    else
      return Median3Rows<T, 0>(src, dst, y0, y1, ring, row_bytes);
  }
  const int c = int(src.channels());
  if (c == 1) return NetworkRowsK<T, 1>(src, dst, k, y0, y1, ring, row_bytes);
  if (c == 3) return NetworkRowsK<T, 3>(src, dst, k, y0, y1, ring, row_bytes);
  return NetworkRowsK<T, 4>(src, dst, k, y0, y1, ring, row_bytes);
}

// u8 with K >= 9: Perreault & Hebert's sliding histograms, one tile of
// columns x rows at a time. A 16-bin histogram is 128 bits of counts: one
// vector of 8-bit counts while a window holds at most 255 pixels (K <= 15),
// two vectors of 16-bit counts above that. The bin where the median falls is
// found branch-free: a prefix sum of the 16 counts and the number of bins
// whose sum is still at most the rank sought. The one-lane target keeps the
// 16 counts in an array and loops.
// A histogram is held in two values h0, h1 of type HistV<Count>: with 8-bit
// counts h0 has all 16 bins (h1 is unused), with 16-bit counts h0 bins 0..7
// and h1 bins 8..15. (Two values rather than an array or a struct: SVE
// vectors are sizeless types, which neither may hold.)
#if HWY_TARGET != HWY_SCALAR
template <class Count>
using HistD = hn::Full128<Count>;
template <class Count>
using HistV = hn::Vec<HistD<Count>>;
template <class Count>
constexpr bool kTwoHalves = sizeof(Count) == 2;

template <class Count>
HWY_INLINE void LoadH(const Count* HWY_RESTRICT p, HistV<Count>& h0, HistV<Count>& h1) {  // 16-byte aligned
  const HistD<Count> d;
  h0 = hn::Load(d, p);
  if constexpr (kTwoHalves<Count>) h1 = hn::Load(d, p + 8);
}
template <class Count>
HWY_INLINE void StoreH(const HistV<Count>& h0, const HistV<Count>& h1, Count* HWY_RESTRICT p) {
  const HistD<Count> d;
  hn::Store(h0, d, p);
  if constexpr (kTwoHalves<Count>) hn::Store(h1, d, p + 8);
}
// h += b - c (c may be null: h += b).
template <class Count>
HWY_INLINE void AddSubH(HistV<Count>& h0, HistV<Count>& h1, const Count* HWY_RESTRICT b, const Count* HWY_RESTRICT c) {
  const HistD<Count> d;
  h0 = hn::Add(h0, hn::Load(d, b));
  if (c) h0 = hn::Sub(h0, hn::Load(d, c));
  if constexpr (kTwoHalves<Count>) {
    h1 = hn::Add(h1, hn::Load(d, b + 8));
    if (c) h1 = hn::Sub(h1, hn::Load(d, c + 8));
  }
}

// The running sums of one vector of counts, plus `carry` in every lane.
template <class Count>
HWY_INLINE HistV<Count> PrefixSum(const HistV<Count>& h, const HistV<Count>& carry) {
  const HistD<Count> d;
  auto sum = hn::Add(h, hn::ShiftLeftLanes<1>(d, h));
  sum = hn::Add(sum, hn::ShiftLeftLanes<2>(d, sum));
  sum = hn::Add(sum, hn::ShiftLeftLanes<4>(d, sum));
  if constexpr (!kTwoHalves<Count>) sum = hn::Add(sum, hn::ShiftLeftLanes<8>(d, sum));
  return hn::Add(sum, carry);
}

// The bin (0..15) holding rank `left` of the counts; `left` becomes its rank within the bin.
template <class Count>
HWY_INLINE int FindBin(const HistV<Count>& h0, const HistV<Count>& h1, int& left) {
  const HistD<Count> d;
  const auto limit = hn::Set(d, Count(left + 1));
  alignas(16) Count sums[16];
  const auto sum0 = PrefixSum<Count>(h0, hn::Zero(d));
  int bin = int(hn::CountTrue(d, hn::Lt(sum0, limit)));
  hn::Store(sum0, d, sums);
  if constexpr (kTwoHalves<Count>) {
    const auto sum1 = PrefixSum<Count>(h1, hn::Broadcast<7>(sum0));  // after the low half's total
    bin += int(hn::CountTrue(d, hn::Lt(sum1, limit)));
    hn::Store(sum1, d, sums + 8);
  }
  left -= bin > 0 ? sums[bin - 1] : 0;
  return bin;
}
#else   // the one-lane target: the 16 counts in an array, h1 unused
template <class Count>
struct HistV {
  Count n[16];
};
template <class Count>
HWY_INLINE void LoadH(const Count* p, HistV<Count>& h0, HistV<Count>&) {
  std::memcpy(h0.n, p, sizeof(h0.n));
}
template <class Count>
HWY_INLINE void StoreH(const HistV<Count>& h0, const HistV<Count>&, Count* p) {
  std::memcpy(p, h0.n, sizeof(h0.n));
}
template <class Count>
HWY_INLINE void AddSubH(HistV<Count>& h0, HistV<Count>&, const Count* b, const Count* c) {
  for (int i = 0; i < 16; ++i) h0.n[i] = Count(h0.n[i] + b[i] - (c ? c[i] : 0));
}
template <class Count>
HWY_INLINE int FindBin(const HistV<Count>& h0, const HistV<Count>&, int& left) {
  int bin = 0;
  while (h0.n[bin] <= left) left -= h0.n[bin++];
  return bin;
}
#endif

// One tile: columns x0..x1, rows y0..y1, channel c. colf: 256 counts per
// local column (x0 - r + j), colc: 16 coarse counts per column, both 16-byte
// aligned; sxo: each local column's offset in a source row.
template <class Count>
void HistTile(const View& src, const View& dst, int K, int x0, int x1, int y0, int y1, int c,
              Count* HWY_RESTRICT colf, Count* HWY_RESTRICT colc, int* HWY_RESTRICT sxo) {
  const int H = int(src.height()), W = int(src.width()), C = int(src.channels());
  const int r = K / 2, nc = (x1 - x0) + 2 * r, rank = K * K / 2;
  for (int j = 0; j < nc; ++j) sxo[j] = kern::clamp_index(x0 - r + j, W) * C + c;
  std::memset(colf, 0, sizeof(Count) * 256 * std::size_t(nc));
  std::memset(colc, 0, sizeof(Count) * 16 * std::size_t(nc));
  for (int dy = -r; dy <= r; ++dy) {
    const std::uint8_t* row = src.row<const std::uint8_t>(kern::clamp_index(y0 + dy, H));
    for (int j = 0; j < nc; ++j) {
      const int v = row[sxo[j]];
      ++colf[j * 256 + v];
      ++colc[j * 16 + (v >> 4)];
    }
  }
  alignas(16) Count fine[256];  // the window's fine counts, 16 per coarse bin
  int fresh[16];                // the column each bin's fine counts are up to, or -1
  for (int y = y0; y < y1; ++y) {
    if (y > y0) {
      const int yo = kern::clamp_index(y - r - 1, H), yi = kern::clamp_index(y + r, H);
      if (yo != yi) {
        const std::uint8_t* ro = src.row<const std::uint8_t>(yo);
        const std::uint8_t* ri = src.row<const std::uint8_t>(yi);
        for (int j = 0; j < nc; ++j) {
          const int vo = ro[sxo[j]], vi = ri[sxo[j]];
          --colf[j * 256 + vo];
          ++colf[j * 256 + vi];
          --colc[j * 16 + (vo >> 4)];
          ++colc[j * 16 + (vi >> 4)];
        }
      }
    }
    for (int& f : fresh) f = -1;  // the column histograms moved: every fine segment is stale
    HistV<Count> coarse0, coarse1, seg0, seg1;
    LoadH(colc, coarse0, coarse1);
    for (int j = 1; j < K; ++j) AddSubH<Count>(coarse0, coarse1, colc + j * 16, nullptr);
    std::uint8_t* out = dst.row<std::uint8_t>(y) + c;
    for (int j = 0; j < x1 - x0; ++j) {  // the window covers local columns j .. j + K - 1
      if (j > 0) AddSubH(coarse0, coarse1, colc + (j + K - 1) * 16, colc + (j - 1) * 16);
      int left = rank;
      const int k = FindBin<Count>(coarse0, coarse1, left);
      const Count* col = colf + k * 16;
      if (fresh[k] < 0 || j - fresh[k] >= K) {
        LoadH(col + j * 256, seg0, seg1);
        for (int jj = j + 1; jj < j + K; ++jj) AddSubH<Count>(seg0, seg1, col + jj * 256, nullptr);
      } else {
        LoadH(fine + k * 16, seg0, seg1);
        for (int jj = fresh[k] + 1; jj <= j; ++jj) AddSubH(seg0, seg1, col + (jj + K - 1) * 256, col + (jj - 1) * 256);
      }
      StoreH(seg0, seg1, fine + k * 16);
      fresh[k] = j;
      out[std::size_t(x0 + j) * C] = std::uint8_t(k * 16 + FindBin<Count>(seg0, seg1, left));
    }
  }
}

void MedianHistTile8(const View& src, const View& dst, int K, int x0, int x1, int y0, int y1, int c, void* colf,
                     void* colc, int* sxo) {
  HistTile(src, dst, K, x0, x1, y0, y1, c, static_cast<std::uint8_t*>(colf), static_cast<std::uint8_t*>(colc), sxo);
}
void MedianHistTile16(const View& src, const View& dst, int K, int x0, int x1, int y0, int y1, int c, void* colf,
                      void* colc, int* sxo) {
  HistTile(src, dst, K, x0, x1, y0, y1, c, static_cast<std::uint16_t*>(colf), static_cast<std::uint16_t*>(colc),
           sxo);
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
HWY_EXPORT(MedianHistTile8);
HWY_EXPORT(MedianHistTile16);

MedianHistTile median_hist_tile_u8(int k) {
  return k <= kMedianHistTileMaxK8 ? HWY_DYNAMIC_DISPATCH(MedianHistTile8) : HWY_DYNAMIC_DISPATCH(MedianHistTile16);
}

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
