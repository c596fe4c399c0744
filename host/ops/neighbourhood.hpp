// Shared pieces of the OpenMP neighbourhood ops (gaussian, box, filter):
// argument checks, the tiling plan, per-thread scratch, bordered row loads and
// rounding stores written so GCC vectorises them.
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
#include "host/core/parallel.hpp"
#include "kernels/common.cuh"
#include "tandem/border.hpp"
#include "tandem/device.hpp"
#include "tandem/op_table.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#if defined(__GNUC__)
#define TANDEM_CPU_INLINE inline __attribute__((always_inline))
#else
#define TANDEM_CPU_INLINE inline
#endif

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

/// check_src, and the output: an image like the input, on the same device, not overlapping it.
inline Status check_io(const OpSpec& spec, const View& src, const View& dst, const Exec& exec) {
  const std::string_view op = spec.name;
  TANDEM_TRY(check_src(spec, src, exec));
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

/// How a CPU op cuts the image: column blocks of tw pixels and strips of th rows.
/// A column block keeps a few rows of `window_rows` buffered rows within about
/// 256 KB (per thread, so in L2); strips give each thread about 8 tiles, but
/// are at least 8 x `min_strip` rows tall, so the rows of vertical halo are
/// re-read rarely.
struct TilePlan {
  int tw = 1, th = 1, ntx = 1, nty = 1;
  [[nodiscard]] int tiles() const { return ntx * nty; }
};

inline TilePlan plan_tiles(int height, int width, int channels, int window_rows, int min_strip, int threads) {
  constexpr int kBudget = 64 * 1024;  // floats of buffered rows per thread
  // Elements per buffered row: at most 2048 (8 KB), so the rows one pass
  // touches stay in L1.
  const int target = std::clamp(kBudget / std::max(window_rows, 1), 256, 2048);
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

/// Fills out[] with pixels xb .. xe-1 of `row` (all channels, as A), pixels
/// outside [0, width) made up by the border rule; row == nullptr is a row
/// outside the image in constant mode (all `cval`).
template <class T, class A>
TANDEM_CPU_INLINE void load_row(A* __restrict out, const T* __restrict row, int xb, int xe, int width, int ch,
                     kern::BorderMode mode, A cval) {
  const int n = (xe - xb) * ch;
  if (!row) {
    for (int i = 0; i < n; ++i) out[i] = cval;
    return;
  }
  const int ib = std::clamp(0, xb, xe), ie = std::clamp(width, xb, xe);  // in-image part [ib, ie)
  for (int x = xb; x < ib; ++x) {
    const int sx = kern::border_index(x, width, mode);
    for (int c = 0; c < ch; ++c) out[(x - xb) * ch + c] = sx < 0 ? cval : A(row[sx * ch + c]);
  }
  A* o = out + (ib - xb) * ch;
  const T* r = row + ib * ch;
  const int m = (ie - ib) * ch;
  for (int i = 0; i < m; ++i) o[i] = A(r[i]);
  for (int x = std::max(ie, xb); x < xe; ++x) {
    const int sx = kern::border_index(x, width, mode);
    for (int c = 0; c < ch; ++c) out[(x - xb) * ch + c] = sx < 0 ? cval : A(row[sx * ch + c]);
  }
}

// Register-blocked weighted sums: the loop over taps runs inside the loop
// over elements, so each block of outputs stays in vector registers (GCC
// vector extensions: 16 floats, ymm pairs or zmm registers in the AVX2 /
// AVX-512 clones) and every tap costs its loads and one multiply-add,
// instead of a load and store of the accumulator row per tap. Vectors are
// only locals, never parameters or return values, so the ABI is unchanged;
// loads go through an unaligned, may_alias view of the floats.
using VecF = float __attribute__((vector_size(64)));
using VecFu = float __attribute__((vector_size(64), aligned(4), may_alias));
constexpr int kVecF = 16;
#define TANDEM_LDU(q) (*reinterpret_cast<const ::tandem::nbh::VecFu*>(q))

/// out[i] = w[r] * p[r][i] + sum_{k<r} w[k] * (p[k][i] + p[2r-k][i]) for i in [0, n):
/// the symmetric weighted sum of the 2r+1 rows p[0..2r].
TANDEM_CPU_INLINE void symmetric_sum(float* __restrict out, const float* const* __restrict p,
                                     const float* __restrict w, int r, int n) {
  const float* __restrict c = p[r];
  const float wc = w[r];
  int i = 0;
  for (; i + 4 * kVecF <= n; i += 4 * kVecF) {
    VecF a0 = wc * TANDEM_LDU(c + i), a1 = wc * TANDEM_LDU(c + i + kVecF), a2 = wc * TANDEM_LDU(c + i + 2 * kVecF),
         a3 = wc * TANDEM_LDU(c + i + 3 * kVecF);
    for (int k = 0; k < r; ++k) {
      const float* __restrict lo = p[k] + i;
      const float* __restrict hi = p[2 * r - k] + i;
      const float wk = w[k];
      a0 += wk * (TANDEM_LDU(lo) + TANDEM_LDU(hi));
      a1 += wk * (TANDEM_LDU(lo + kVecF) + TANDEM_LDU(hi + kVecF));
      a2 += wk * (TANDEM_LDU(lo + 2 * kVecF) + TANDEM_LDU(hi + 2 * kVecF));
      a3 += wk * (TANDEM_LDU(lo + 3 * kVecF) + TANDEM_LDU(hi + 3 * kVecF));
    }
    std::memcpy(out + i, &a0, sizeof a0);
    std::memcpy(out + i + kVecF, &a1, sizeof a1);
    std::memcpy(out + i + 2 * kVecF, &a2, sizeof a2);
    std::memcpy(out + i + 3 * kVecF, &a3, sizeof a3);
  }
  for (; i + kVecF <= n; i += kVecF) {
    VecF a = wc * TANDEM_LDU(c + i);
    for (int k = 0; k < r; ++k) a += w[k] * (TANDEM_LDU(p[k] + i) + TANDEM_LDU(p[2 * r - k] + i));
    std::memcpy(out + i, &a, sizeof a);
  }
  for (; i < n; ++i) {
    float a = wc * c[i];
    for (int k = 0; k < r; ++k) a += w[k] * (p[k][i] + p[2 * r - k][i]);
    out[i] = a;
  }
}

/// out[i] = sum_t w[t] * p[t][i] for i in [0, n) (t in [0, m), m >= 1), summed in order of t.
TANDEM_CPU_INLINE void weighted_sum(float* __restrict out, const float* const* __restrict p,
                                    const float* __restrict w, int m, int n) {
  int i = 0;
  for (; i + 4 * kVecF <= n; i += 4 * kVecF) {
    VecF a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (int t = 0; t < m; ++t) {
      const float* __restrict q = p[t] + i;
      const float wt = w[t];
      a0 += wt * TANDEM_LDU(q);
      a1 += wt * TANDEM_LDU(q + kVecF);
      a2 += wt * TANDEM_LDU(q + 2 * kVecF);
      a3 += wt * TANDEM_LDU(q + 3 * kVecF);
    }
    std::memcpy(out + i, &a0, sizeof a0);
    std::memcpy(out + i + kVecF, &a1, sizeof a1);
    std::memcpy(out + i + 2 * kVecF, &a2, sizeof a2);
    std::memcpy(out + i + 3 * kVecF, &a3, sizeof a3);
  }
  for (; i + kVecF <= n; i += kVecF) {
    VecF a = {};
    for (int t = 0; t < m; ++t) a += w[t] * TANDEM_LDU(p[t] + i);
    std::memcpy(out + i, &a, sizeof a);
  }
  for (; i < n; ++i) {
    float a = 0.f;
    for (int t = 0; t < m; ++t) a += w[t] * p[t][i];
    out[i] = a;
  }
}

/// R neighbouring rows of a vertical pass at once: out[q][i] = sum_{t<m} w[t] * p[t+q][i]
/// for q < R (p holds m + R - 1 rows), each summed in order of t exactly as
/// weighted_sum does, but every row is read once for all R outputs.
template <int R>
TANDEM_CPU_INLINE void weighted_sum_rows(float* const* __restrict out, const float* const* __restrict p,
                                         const float* __restrict w, int m, int n) {
  int i = 0;
  for (; i + kVecF <= n; i += kVecF) {
    VecF a[R];
    for (int q = 0; q < R; ++q) a[q] = VecF{};
    const int rows = m + R - 1, mid_end = std::max(m, R - 1);
    int k = 0;
    for (; k < R - 1; ++k) {  // the first rows: not every output uses them
      const VecF x = TANDEM_LDU(p[k] + i);
      for (int q = 0; q < R; ++q)
        if (k - q >= 0 && k - q < m) a[q] += w[k - q] * x;
    }
    for (; k < mid_end; ++k) {  // every output uses these
      const VecF x = TANDEM_LDU(p[k] + i);
      for (int q = 0; q < R; ++q) a[q] += w[k - q] * x;
    }
    for (; k < rows; ++k) {  // the last rows
      const VecF x = TANDEM_LDU(p[k] + i);
      for (int q = 0; q < R; ++q)
        if (k - q >= 0 && k - q < m) a[q] += w[k - q] * x;
    }
    for (int q = 0; q < R; ++q) std::memcpy(out[q] + i, &a[q], sizeof a[q]);
  }
  for (; i < n; ++i)
    for (int q = 0; q < R; ++q) {
      float a = 0.f;
      for (int t = 0; t < m; ++t) a += w[t] * p[t + q][i];
      out[q][i] = a;
    }
}

#undef TANDEM_LDU

/// acc[i] += a[i]  (widening)
template <class A, class T>
TANDEM_CPU_INLINE void add_row(A* __restrict acc, const T* __restrict a, int n) {
  for (int i = 0; i < n; ++i) acc[i] += A(a[i]);
}
/// acc[i] += a[i] - b[i]  (widening)
template <class A, class T>
TANDEM_CPU_INLINE void add_sub_row(A* __restrict acc, const T* __restrict a, const T* __restrict b, int n) {
  for (int i = 0; i < n; ++i) acc[i] += A(a[i]) - A(b[i]);
}

/// Stores float results known to lie in [0, max of T] (plus rounding noise
/// below one half) as T, rounding half to even. Equal to kern::saturate<T> on
/// that range, but written so GCC vectorises it without SSE4.1's roundps:
/// adding 2^23 leaves the rounded integer in the low mantissa bits.
template <class T>
TANDEM_CPU_INLINE void store_in_range(T* __restrict out, const float* __restrict in, int n) {
  if constexpr (std::is_floating_point_v<T>) {
    for (int i = 0; i < n; ++i) out[i] = in[i];
  } else {
    for (int i = 0; i < n; ++i) out[i] = static_cast<T>(std::bit_cast<std::uint32_t>(in[i] + 0x1p23f));
  }
}

/// Clamps results to T's range in place and stores them as T, rounding half to
/// even: kern::saturate<T> for finite input, in two loops GCC vectorises.
template <class T>
TANDEM_CPU_INLINE void store_saturated(T* __restrict out, float* __restrict in, int n) {
  if constexpr (!std::is_floating_point_v<T>) {
    constexpr float hi = float(std::numeric_limits<T>::max());
    for (int i = 0; i < n; ++i) in[i] = std::min(std::max(in[i], 0.f), hi);
  }
  store_in_range(out, in, n);
}

/// Stores exact window sums divided by `area` as T (round half to even):
/// kern::box_finish<T> for sums in [0, area * max of T], vectorised for 32-bit
/// sums. Division is slow, so for area <= 2^19 the quotient is s * (1/area),
/// then snapped to a multiple of 2^-20 (adding and subtracting 2^32): a true
/// tie m + 1/2 is within 1e-11 of the product and snaps onto it exactly, while
/// any other quotient is at least 1/(2 area) >= 2^-20 from a tie and stays on
/// its side; adding 2^52 then rounds half to even.
template <class T, class A>
TANDEM_CPU_INLINE void store_mean(T* __restrict out, const A* __restrict sum, int n, double area) {
  if constexpr (std::is_same_v<A, std::uint16_t>) {
    // 16-bit sums (u8 with an odd K <= 15, area odd): no quotient is a tie, and
    // each is at least 1/(2 area) >= 1/450 from one, far more than the float
    // product's error (< 256 * 2^-23), so rounding s * (1/area) in float is exact.
    const float inv = float(1.0 / area);
    for (int i = 0; i < n; ++i) out[i] = static_cast<T>(std::bit_cast<std::uint32_t>(float(sum[i]) * inv + 0x1p23f));
  } else if constexpr (std::is_floating_point_v<T>) {
    for (int i = 0; i < n; ++i) out[i] = static_cast<T>(double(sum[i]) / area);
  } else if (area <= 0x1p19) {
    const double inv = 1.0 / area;
    for (int i = 0; i < n; ++i) {
      const double q = (double(sum[i]) * inv + 0x1p32) - 0x1p32;
      out[i] = static_cast<T>(std::bit_cast<std::uint64_t>(q + 0x1p52));
    }
  } else {
    for (int i = 0; i < n; ++i) out[i] = static_cast<T>(std::bit_cast<std::uint64_t>(double(sum[i]) / area + 0x1p52));
  }
}

}  // namespace tandem::nbh
