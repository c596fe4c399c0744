// Shared pieces of the OpenMP neighbourhood ops (gaussian, box, filter):
// argument checks, the tiling plan, per-thread scratch, the row loops GCC
// vectorises for each SIMD target, and the CPU implementations that
// host/ops/<op>_hwy.cpp define (their vector pieces: neighbourhood-inl.h).
#pragma once

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "host/ops/image_checks.hpp"
#include "host/ops/image_op.hpp"
#include "host/core/parallel.hpp"
#include "host/core/simd.hpp"
#include "kernels/common.cuh"
#include "tandem/border.hpp"
#include "tandem/device.hpp"
#include "tandem/op_table.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

namespace tandem::nbh {

inline kern::BorderMode to_mode(Border b) noexcept { return static_cast<kern::BorderMode>(static_cast<int>(b)); }

/// The input and exec checks every neighbourhood op makes, with messages naming
/// `op`: the shared image checks, plus sides small enough for the tile arithmetic.
inline Status check_src(const OpSpec& spec, const View& src, const Exec& exec) {
  const std::string_view op = spec.name;
  TANDEM_TRY(detail::check_image_input(spec, src, exec));
  if (src.height() > INT_MAX / 4 || src.width() * src.channels() > INT_MAX / 4)
    return {Errc::invalid_argument, std::string(op) + ": the input is too large (" + src.describe() + ")"};
  return {};
}

/// The output (after check_src): an image like the input, on the same device, not overlapping it.
inline Status check_dst(const OpSpec& spec, const View& src, const View& dst, const Exec& /*exec*/) {
  const std::string_view op = spec.name;
  const auto fail = [&](Errc c, const std::string& why) { return Status(c, std::string(op) + ": " + why); };
  if (!dst.is_image() || !dst.same_layout(src) || !dst.data)
    return fail(Errc::invalid_argument, "the output must be an image like the input (" + src.describe() + "); got " +
                                            dst.describe());
  // Tiles read neighbours that an in-place write would already have replaced.
  const auto span = [](const View& v) {
    const auto* b = static_cast<const char*>(v.data);
    return std::pair(b, b + (v.height() - 1) * v.row_stride() + v.width() * v.channels() * std::int64_t(v.elem_size()));
  };
  const auto [sb, se] = span(src);
  const auto [db, de] = span(dst);
  if (sb < de && db < se) return fail(Errc::invalid_argument, "the input and output overlap (in-place filtering is not supported)");
  return {};
}

/// The checks of gaussian, box and filter; their output has the input's very shape.
inline constexpr detail::ImageChecks kChecks{.src = check_src, .dst = check_dst, .out = {.like_src = true}};

/// How a CPU op cuts the image: column blocks of tw pixels and strips of th rows.
/// A column block keeps a few rows of `window_rows` buffered rows within about
/// 256 KB (per thread, so in L2); strips give each thread about 8 tiles, but
/// are at least 8 x `min_strip` rows tall, so the rows of vertical halo are
/// re-read rarely.
struct TilePlan {
  int tw = 1, th = 1, ntx = 1, nty = 1;
  [[nodiscard]] int tiles() const { return ntx * nty; }
};

inline TilePlan plan_tiles(int height, int width, int channels, int window_rows, int min_strip, int threads,
                           int max_row = 2048) {
  constexpr int kBudget = 64 * 1024;  // floats of buffered rows per thread
  // Elements per buffered row: at most max_row (2048: 8 KB of float), so the
  // rows one pass touches stay in L1.
  const int target = std::clamp(kBudget / std::max(window_rows, 1), 256, max_row);
  TilePlan p;
  const std::int64_t row = std::int64_t(width) * channels;
  p.ntx = row <= target + target / 2 ? 1 : int((row + target - 1) / target);
  p.tw = (width + p.ntx - 1) / p.ntx;
  p.ntx = (width + p.tw - 1) / p.tw;
  // Several tiles per thread (dynamic scheduling hands them to whichever
  // thread is free, so one preempted or slower thread does not hold up the
  // region), but strips of at least 8 x min_strip rows so the re-read halo
  // stays small.
  const int want = threads <= 1 ? 1 : std::max(1, (8 * threads + p.ntx - 1) / p.ntx);
  const int most = std::max(1, height / std::max(8 * min_strip, 1));
  p.nty = std::min(want, most);
  p.th = (height + p.nty - 1) / p.nty;
  p.nty = (height + p.th - 1) / p.th;
  return p;
}

/// Per-thread scratch: `threads` slices of `per_thread` elements of E, 64-byte aligned.
template <class E>
class Scratch {
 public:
  Status allocate(int threads, std::size_t per_thread) {
    stride_ = (per_thread * sizeof(E) + 63) / 64 * 64;
    return Buffer::allocate(stride_ * std::size_t(threads), MemKind::host, buf_);
  }
  E* slice(int t) const { return reinterpret_cast<E*>(static_cast<char*>(buf_.data()) + stride_ * std::size_t(t)); }

 private:
  Buffer buf_;
  std::size_t stride_ = 0;
};

/// Rounds a count of elements up to a multiple of 16 (64 bytes of floats).
constexpr std::size_t pad16(std::size_t n) { return (n + 15) / 16 * 16; }

/// A border `value` as an image of dtype t holds it (saturated, rounded half to even).
inline float outside_value(DType t, double value) {
  if (t == DType::u8) return float(kern::saturate<std::uint8_t>(value));
  if (t == DType::u16) return float(kern::saturate<std::uint16_t>(value));
  return kern::saturate<float>(value);
}

/// Where median's selection path (u16 / f32, K >= 9) keeps, in its per-thread
/// scratch (64-byte aligned), the K row pointers and the K*K 32-bit keys: the
/// pointers first, since after an odd number of keys they would be misaligned.
struct MedianSelectLayout {
  std::size_t rows = 0, keys = 0, bytes = 0;  // byte offsets, total
};
constexpr MedianSelectLayout median_select_layout(int k) {
  const std::size_t rows_bytes = sizeof(const void*) * std::size_t(k);
  return {0, rows_bytes, rows_bytes + sizeof(std::uint32_t) * std::size_t(k) * std::size_t(k)};
}

/// The CPU implementations, in host/ops/<op>_hwy.cpp (checks done: these run
/// the op with `threads` OpenMP threads on the best SIMD target).
Status gaussian_cpu(const View& src, const View& dst, const float* w, int r, kern::BorderMode mode, float cval,
                    int threads);
/// gaussian's u8 fixed-point path (kernels/gaussian.cuh): q the 2r+1 integer weights.
Status gaussian_fixed_cpu(const View& src, const View& dst, const std::uint16_t* q, int r, kern::BorderMode mode,
                          std::uint8_t cval, int threads);
Status box_cpu(const View& src, const View& dst, int k, kern::BorderMode mode, float cval, int threads);
Status filter_cpu(const View& src, const View& dst, const Matrix& kernel, kern::BorderMode mode, float cval,
                  int threads);
Status sobel_cpu(const View& src, const View& dst, kern::BorderMode mode, float cval, int threads);
/// median for K = 3, 5, 7 (edge pixels replicated).
Status median_network_cpu(const View& src, const View& dst, int k, int threads);
/// median of u8 for K >= 9, one tile of the sliding histograms (columns
/// x0..x1, rows y0..y1, channel c) on the best SIMD target, counting in bytes
/// for K <= kMedianHistTileMaxK8 and in 16-bit words above. Scratch, in counts
/// of median_hist_count_bytes(K) bytes: colf 256 x nc and colc 16 x nc
/// (16-byte aligned), then sxo nc ints, where nc = x1 - x0 + K - 1
/// (host/ops/median.cpp tiles the image).
using MedianHistTile = void (*)(const View& src, const View& dst, int K, int x0, int x1, int y0, int y1, int c,
                                void* colf, void* colc, int* sxo);
constexpr int kMedianHistTileMaxK8 = 15;  // a window of at most 255 pixels
constexpr std::size_t median_hist_count_bytes(int k) { return k <= kMedianHistTileMaxK8 ? 1 : 2; }
MedianHistTile median_hist_tile_u8(int k);

/// The rounding stores of filter and box on the dispatched target, for tests:
/// float results clamped and rounded half to even (kern::saturate), and u16
/// means of 32-bit window sums (kern::box_finish).
void store_saturated(std::uint8_t* out, const float* in, int n);
void store_saturated(std::uint16_t* out, const float* in, int n);
void store_mean(std::uint16_t* out, const std::int32_t* sums, int n, double area);

}  // namespace tandem::nbh
