// median: validation, dispatch, the OpenMP implementations and the op-table entry.
//
// CPU paths: K = 3 sorts each column once and combines three sorted columns
// per pixel; K = 5 and 7 run the selection network of kernels/median.cuh. Both
// are vectorised across a row for each SIMD target (every window row is read
// from a ring of edge-padded source rows; median_hwy.cpp). u8 with K >= 9 slides histograms (Perreault &
// Hebert's constant-time median: per-column histograms, a 16-bin coarse window
// histogram updated every step and 16-bin fine segments brought up to date
// only when the median falls in them), on tiles of columns x rows so the
// column histograms stay in L2; the tile is vector code (median_hwy.cpp),
// counting in bytes for K <= 15. u16 / f32 with K >= 9 select among the
// window's keys (std::nth_element), O(K^2) per pixel.
#include "tandem/ops/median.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "host/ops/image_checks.hpp"
#include "host/ops/neighbourhood.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "kernels/median.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

constexpr std::string_view kOp = "median";

int max_size(DType t) { return t == DType::u8 ? kMedianMaxSizeU8 : kMedianMaxSizeWide; }

// Scratch shared by a parallel region: `per_thread` bytes (64-byte aligned) per thread.
struct Scratch {
  std::unique_ptr<std::byte[]> mem;
  std::size_t per_thread = 0;
  Status allocate(std::size_t bytes, int threads) {
    per_thread = (bytes + 63) / 64 * 64;
    mem.reset(new (std::nothrow) std::byte[per_thread * std::size_t(threads) + 64]);
    if (!mem) return detail::op_error(kOp, Errc::out_of_memory, "cannot allocate " + std::to_string(per_thread * threads) + " bytes of scratch");
    return {};
  }
  template <class U>
  U* at(int thread) const {
    auto p = reinterpret_cast<std::uintptr_t>(mem.get()) + per_thread * std::size_t(thread);
    return reinterpret_cast<U*>((p + 63) / 64 * 64);
  }
};

// ---------------------------------------------------------------------------
// u8, K >= 9: sliding histograms.

constexpr int kTileCols = 256;

struct HistTile {
  int x0, x1, y0, y1, c;
};

Status median_u8_hist(const View& src, const View& dst, int K, const Exec& exec) {
  const int C = static_cast<int>(src.channels());
  const int H = static_cast<int>(src.height());
  const int W = static_cast<int>(src.width());
  const int r = K / 2;
  const int threads = std::max(1, cpu_threads(exec));
  const int bw = std::min(W, kTileCols);
  const int ncb = (W + bw - 1) / bw;
  // Enough row strips to feed every thread, each at least a few windows tall
  // so filling the column histograms stays a small part of the work.
  int strips = std::max(1, (2 * threads + ncb * C - 1) / (ncb * C));
  strips = std::max(1, std::min(strips, H / std::max(8, K)));
  std::vector<HistTile> tiles;
  try {
    tiles.reserve(std::size_t(ncb) * strips * C);
  } catch (const std::bad_alloc&) {
    return detail::op_error(kOp, Errc::out_of_memory, "cannot allocate the tile list");
  }
  for (int c = 0; c < C; ++c)
    for (int s = 0; s < strips; ++s)
      for (int b = 0; b < ncb; ++b)
        tiles.push_back({b * bw, std::min(W, (b + 1) * bw), static_cast<int>(std::int64_t(H) * s / strips),
                         static_cast<int>(std::int64_t(H) * (s + 1) / strips), c});
  const int nc = bw + 2 * r;
  const std::size_t count = nbh::median_hist_count_bytes(K);
  const std::size_t bytes = count * 272 * std::size_t(nc) + sizeof(int) * std::size_t(nc) + 128;
  const int team = std::max(1, std::min<int>(threads, static_cast<int>(tiles.size())));
  Scratch scratch;
  TANDEM_TRY(scratch.allocate(bytes, team));
  TANDEM_TRY(detail::simd_ready());
  const nbh::MedianHistTile tile = nbh::median_hist_tile_u8(K);  // median_hwy.cpp
#pragma omp parallel num_threads(team)
  {
    auto* colf = scratch.at<std::byte>(omp_get_thread_num());
    auto* colc = colf + count * 256 * std::size_t(nc);
    auto* sxo = reinterpret_cast<int*>(colc + count * 16 * std::size_t(nc));
#pragma omp for schedule(dynamic, 1)
    for (std::size_t i = 0; i < tiles.size(); ++i) {
      const HistTile& t = tiles[i];
      tile(src, dst, K, t.x0, t.x1, t.y0, t.y1, t.c, colf, colc, sxo);
    }
  }
  return {};
}

// ---------------------------------------------------------------------------
// u16 / f32, K >= 9: selection among the window's keys.

template <class T, int C>
Status median_select(const View& src, const View& dst, int K, const Exec& exec) {
  using Key = kern::MedianKey<T>;
  const int H = static_cast<int>(src.height());
  const int W = static_cast<int>(src.width());
  const int r = K / 2;
  const int n = K * K;
  const int threads = std::max(1, std::min(cpu_threads(exec), H));
  const nbh::MedianSelectLayout layout = nbh::median_select_layout(K);
  Scratch scratch;
  TANDEM_TRY(scratch.allocate(layout.bytes, threads));
#pragma omp parallel num_threads(threads)
  {
    std::byte* mine = scratch.at<std::byte>(omp_get_thread_num());
    auto** rows = reinterpret_cast<const T**>(mine + layout.rows);
    auto* keys = reinterpret_cast<std::uint32_t*>(mine + layout.keys);
#pragma omp for schedule(static)
    for (int y = 0; y < H; ++y) {
      for (int dy = 0; dy < K; ++dy) rows[dy] = src.row<const T>(kern::clamp_index(y - r + dy, H));
      T* out = dst.row<T>(y);
      for (int x = 0; x < W; ++x)
        for (int c = 0; c < C; ++c) {
          int m = 0;
          for (int dy = 0; dy < K; ++dy)
            for (int dx = -r; dx <= r; ++dx) keys[m++] = Key::key(rows[dy][kern::clamp_index(x + dx, W) * C + c]);
          std::nth_element(keys, keys + n / 2, keys + n);
          out[x * C + c] = Key::value(keys[n / 2]);
        }
    }
  }
  return {};
}

// ---------------------------------------------------------------------------

template <class T, int C>
Status median_cpu_typed(const View& src, const View& dst, int K, const Exec& exec) {
  if (K <= 7) return nbh::median_network_cpu(src, dst, K, cpu_threads(exec));
  if constexpr (std::is_same_v<T, std::uint8_t>)
    return median_u8_hist(src, dst, K, exec);
  else
    return median_select<T, C>(src, dst, K, exec);
}

Status median_cpu(const View& src, const View& dst, const MedianParams& p, const Exec& exec) {
  const int K = p.size;
  const auto c = src.channels();
  switch (src.dtype) {
    case DType::u8:
      if (c == 1) return median_cpu_typed<std::uint8_t, 1>(src, dst, K, exec);
      if (c == 3) return median_cpu_typed<std::uint8_t, 3>(src, dst, K, exec);
      return median_cpu_typed<std::uint8_t, 4>(src, dst, K, exec);
    case DType::u16:
      if (c == 1) return median_cpu_typed<std::uint16_t, 1>(src, dst, K, exec);
      if (c == 3) return median_cpu_typed<std::uint16_t, 3>(src, dst, K, exec);
      return median_cpu_typed<std::uint16_t, 4>(src, dst, K, exec);
    default:
      if (c == 1) return median_cpu_typed<float, 1>(src, dst, K, exec);
      if (c == 3) return median_cpu_typed<float, 3>(src, dst, K, exec);
      return median_cpu_typed<float, 4>(src, dst, K, exec);
  }
}

// An even window has no centre pixel, whatever the image.
Status check_odd(const MedianParams& p) {
  if (p.size % 2 == 0)
    return detail::op_error(kOp, Errc::invalid_argument,
                            "parameter 'size' must be odd (the window needs a centre pixel); got " +
                                std::to_string(p.size));
  return {};
}

// u16 and f32 select among K^2 keys per pixel, so they stop at a smaller K.
Status check_size_for(const View& src, const MedianParams& p) {
  const int top = max_size(src.dtype);
  if (p.size > top)
    return detail::op_error(kOp, Errc::invalid_argument,
                            "window size " + std::to_string(p.size) + " must be at most " + std::to_string(top) +
                                " for " + dtype_name(src.dtype) + " images");
  return {};
}

const detail::ImageOp<MedianParams>& op() {
  static const detail::ImageOp<MedianParams> o({
      .name = "median",
      .doc = "Median of the K x K window per channel, edge pixels replicated (exact)",
      .semantics = "cv2.medianBlur(img, K) (OpenCV takes u16 / f32 only for K = 3, 5; tandem computes the "
                   "same exact median for any odd K up to 99 for them, up to 255 for u8)",
      .params = {detail::field(&MedianParams::size, "size",
                               "window side K, odd; at most 255 for u8 and 99 for u16 / f32; 1 copies")
                     .in(1, kMedianMaxSizeU8)
                     .required()},
      .layouts = detail::standard_image_layouts(),
      .run = median,
      .check = check_odd,
  }, detail::kSameSizeImageChecks, median, median_cpu, check_size_for);
  return o;
}

}  // namespace

Status median(const View& src, const View& dst, const MedianParams& p, const Exec& exec) {
  TANDEM_TRY(op().check_into(src, dst, p, exec));
  if (p.size == 1) return copy(src, dst, exec.stream);
  return detail::on_device(kOp, src, dst, p, exec, median_cpu,
                           [&](auto stream) { return cuda::median(src, dst, p, stream); });
}

Status median(const View& src, Tensor& dst, const MedianParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec);
}

TANDEM_OP_SPECS(median, &op().spec())

}  // namespace tandem
