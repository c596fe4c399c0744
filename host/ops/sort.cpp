// sort: validation, dispatch, the OpenMP implementation and the op-table entry.
//
// CPU algorithm: every value is mapped to an unsigned key whose unsigned order
// is NumPy's order (kernels/sort.cuh: sign flips for integers and floats, NaN
// -> the key above +inf), the keys are sorted, and mapped back. Short rows use
// std::sort on the keys. Longer rows of 64-bit keys (i64, f64) differing in
// more than 16 bits: Highway's VQSort. Other longer rows: keys that fit in L2 (or differ in at most
// 16 bits) get an LSD radix sort with 8-bit digits that skips passes whose
// digit is the same for every key (so u8 takes one pass); larger ones first
// an MSD pass on their top 4-11 differing bits, then each bucket recursively,
// in cache. Many rows: one row per thread at a time. One or a few long rows:
// the whole team does the MSD pass on key - min(key) (per-chunk digit counts,
// chunks handed out dynamically) and then sorts and writes out the buckets.
#include "tandem/ops/sort.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

#include <hwy/contrib/sort/vqsort.h>

#include "host/core/memory.hpp"
#include "host/core/simd.hpp"
#include "host/ops/array_rows.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "kernels/sort.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

/// A row at least this long is sorted by the whole team when rows are few.
constexpr std::int64_t kParallelRowMin = std::int64_t(1) << 16;
/// Rows up to this length use std::sort on the keys (radix setup costs more).
constexpr std::int64_t kSmallRow = 256;
/// Key arrays up to this many bytes (plus as much scratch) are LSD-sorted in
/// cache; larger ones are split by an MSD pass first.
constexpr std::int64_t kCacheBytes = std::int64_t(256) << 10;

/// Digit width of an MSD pass over n keys differing in their low `bits` bits:
/// chosen so that the bits left are a multiple of the 8-bit LSD digit (1 to 8
/// bits), plus 8 more (at most 2048 buckets, whose write fronts fit in L2) when
/// it is narrow and the buckets would stay large. Buckets much smaller than
/// that would end in std::sort.
constexpr int msd_width(int bits, std::int64_t n) noexcept {
  const int w = (bits - 1) % 8 + 1;
  return w <= 3 && bits > w + 8 && (n >> (w + 8)) > 4096 ? w + 8 : w;
}

/// Chunks of a team-sorted row (fixed, handed out dynamically).
constexpr std::int64_t kMaxChunks = 64;
constexpr std::int64_t kMinChunk = std::int64_t(1) << 14;

/// Number of low bits in which the keys between lo and hi can differ.
template <class K>
int differing_bits(K lo, K hi) noexcept {
  const std::uint64_t x = std::uint64_t(lo) ^ std::uint64_t(hi);
  return x == 0 ? 0 : 64 - __builtin_clzll(x);
}

/// Digit width of the team's MSD pass: msd_width, widened up to 11 bits while
/// buckets stay above about 8K keys (the LSD then sorts them in L1).
constexpr int top_width(int bits, std::int64_t n) noexcept {
  int w = msd_width(bits, n);
  while (w < 11 && w < bits && (n >> w) > 8192) ++w;
  return w;
}

/// LSD radix sort of a[0, n) on its low 8 * P bits (the bits above are equal
/// for all keys), result in a; b is scratch of n keys. One read counts every
/// pass's digits; passes where all keys share the digit are skipped.
template <class K, int P>
void lsd_sort_fixed(K* a, K* b, std::int64_t n) {
  std::uint32_t hist[P][256] = {};
  for (std::int64_t i = 0; i < n; ++i) {
    const K k = a[i];
    for (int p = 0; p < P; ++p) ++hist[p][static_cast<unsigned>(k >> (8 * p)) & 0xFFu];
  }
  K* from = a;
  K* to = b;
  for (int p = 0; p < P; ++p) {
    std::uint32_t* h = hist[p];
    const int sh = 8 * p;
    if (h[static_cast<unsigned>(from[0] >> sh) & 0xFFu] == n) continue;
    std::uint32_t sum = 0;
    for (int d = 0; d < 256; ++d) sum += std::exchange(h[d], sum);
    for (std::int64_t i = 0; i < n; ++i) {
      const K k = from[i];
      to[h[static_cast<unsigned>(k >> sh) & 0xFFu]++] = k;
    }
    std::swap(from, to);
  }
  if (from != a) std::memcpy(a, from, std::size_t(n) * sizeof(K));
}

/// lsd_sort_fixed for the low `bits` bits (n < 2^32).
template <class K>
void lsd_sort(K* a, K* b, std::int64_t n, int bits) {
  switch ((bits + 7) / 8) {
    case 1: return lsd_sort_fixed<K, 1>(a, b, n);
    case 2: if constexpr (sizeof(K) >= 2) return lsd_sort_fixed<K, 2>(a, b, n); break;
    case 3: if constexpr (sizeof(K) >= 4) return lsd_sort_fixed<K, 3>(a, b, n); break;
    case 4: if constexpr (sizeof(K) >= 4) return lsd_sort_fixed<K, 4>(a, b, n); break;
    case 5: if constexpr (sizeof(K) >= 8) return lsd_sort_fixed<K, 5>(a, b, n); break;
    case 6: if constexpr (sizeof(K) >= 8) return lsd_sort_fixed<K, 6>(a, b, n); break;
    case 7: if constexpr (sizeof(K) >= 8) return lsd_sort_fixed<K, 7>(a, b, n); break;
    default: if constexpr (sizeof(K) >= 8) return lsd_sort_fixed<K, 8>(a, b, n); break;
  }
}

/// Sorts the n keys in `data` that agree above their low `bits` bits, with
/// `scratch` (n keys); the result ends in scratch when `to_scratch`, else in
/// data. In cache or with at most two digits by LSD, else an MSD pass on the
/// top msd_width(bits) bits and each bucket recursively.
template <class K>
void sort_keys(K* data, K* scratch, std::int64_t n, int bits, bool to_scratch) {
  if constexpr (sizeof(K) == 8) {
    // 64-bit keys with more than two digits: Highway's VQSort (vectorised quicksort) sorts
    // them in place about 1.5-2x faster per core than the radix passes (docs/performance.md).
    if (n > kSmallRow && bits > 16) {
      thread_local const hwy::Sorter sorter;  // one per thread: it holds scratch space
      sorter(reinterpret_cast<std::uint64_t*>(data), static_cast<std::size_t>(n), hwy::SortAscending());
      if (to_scratch) std::memcpy(scratch, data, std::size_t(n) * sizeof(K));
      return;
    }
  }
  if (n <= kSmallRow || bits <= 0 || (bits <= 8 && n > std::int64_t(UINT32_MAX))) {
    if (bits > 0) std::sort(data, data + n);
    if (to_scratch) std::memcpy(scratch, data, std::size_t(n) * sizeof(K));
    return;
  }
  if (bits <= 16 || n * std::int64_t(sizeof(K)) <= kCacheBytes) {
    lsd_sort(data, scratch, n, bits);
    if (to_scratch) std::memcpy(scratch, data, std::size_t(n) * sizeof(K));
    return;
  }
  const int width = msd_width(bits, n);
  const int shift = bits - width;
  const unsigned mask = (1u << width) - 1;
  std::vector<std::int64_t> h(std::size_t(mask) + 2, 0);
  for (std::int64_t i = 0; i < n; ++i) ++h[(static_cast<unsigned>(data[i] >> shift) & mask) + 1];
  if (h[(static_cast<unsigned>(data[0] >> shift) & mask) + 1] == n) {
    sort_keys(data, scratch, n, shift, to_scratch);  // one bucket: no scatter needed
    return;
  }
  for (unsigned d = 0; d <= mask; ++d) h[d + 1] += h[d];
  std::vector<std::int64_t> pos(h.begin(), h.end() - 1);
  for (std::int64_t i = 0; i < n; ++i) {
    const K k = data[i];
    scratch[pos[static_cast<unsigned>(k >> shift) & mask]++] = k;
  }
  for (unsigned d = 0; d <= mask; ++d)
    sort_keys(scratch + h[d], data + h[d], h[d + 1] - h[d], shift, !to_scratch);
}

struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};
template <class K>
using ScratchPtr = std::unique_ptr<K[], FreeDeleter>;

/// n keys of scratch, on transparent huge pages where the kernel allows it
/// (fewer page faults and TLB misses in the scatter); null when out of memory.
template <class K>
ScratchPtr<K> scratch_alloc(std::int64_t n) {
  constexpr std::size_t kHuge = std::size_t(2) << 20;
  const std::size_t bytes = std::size_t(n) * sizeof(K);
  void* p = bytes >= kHuge ? detail::huge_page_alloc((bytes + kHuge - 1) / kHuge * kHuge)
                           : std::malloc(bytes > 0 ? bytes : 1);
  return ScratchPtr<K>(static_cast<K*>(p));
}

/// Sorts one long row with the whole team: one parallel MSD pass on the top
/// msd_width bits of key - min(key) (per-chunk digit counts,
/// chunks handed out dynamically), then the buckets in parallel, each sorted
/// (mostly in cache) and written out while still there. The input is read three times (range, counts,
/// scatter) and is not written before the last read, so src may be dst.
/// `keys`, `tmp`: n keys each; `counts`: kMaxChunks * 2048.
template <class T>
void sort_row_parallel(const char* src, std::int64_t src_step, char* dst, std::int64_t dst_step,
                       std::int64_t n, typename kern::SortKey<T>::Key* keys,
                       typename kern::SortKey<T>::Key* tmp, std::int64_t* counts, int threads) {
  using SK = kern::SortKey<T>;
  using K = typename SK::Key;
  const std::int64_t chunks = std::clamp<std::int64_t>(n / kMinChunk, 1, kMaxChunks);
  auto chunk_lo = [&](std::int64_t c) { return n * c / chunks; };
  const bool dense = src_step == std::int64_t(sizeof(T));
  const T* sp = reinterpret_cast<const T*>(src);
  K lo_all = std::numeric_limits<K>::max(), hi_all = 0;
  std::vector<std::int64_t> bucket;
  int shift = 0;
#pragma omp parallel num_threads(threads)
  {
    auto key_at = [&](std::int64_t i) {
      return SK::to_key(dense ? sp[i] : *reinterpret_cast<const T*>(src + i * src_step));
    };
    // 1. The keys' range.
    K lo = std::numeric_limits<K>::max(), hi = 0;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t e = chunk_lo(c + 1);
      if (dense) {
        for (std::int64_t i = chunk_lo(c); i < e; ++i) {
          const K k = SK::to_key(sp[i]);
          lo = k < lo ? k : lo;
          hi = k > hi ? k : hi;
        }
      } else {
        for (std::int64_t i = chunk_lo(c); i < e; ++i) {
          const K k = key_at(i);
          lo = k < lo ? k : lo;
          hi = k > hi ? k : hi;
        }
      }
    }
#pragma omp critical(tandem_sort_range)
    {
      lo_all = std::min(lo_all, lo);
      hi_all = std::max(hi_all, hi);
    }
#pragma omp barrier
    // Keys are sorted as k - lo: the digits then spread over the data's range.
    const K base = lo_all;
    const int bits = differing_bits(K(0), K(hi_all - base));
    const int w = bits > 0 ? top_width(bits, n) : 0;
    const int sh = bits - w;
    const int nb = 1 << w;
    const unsigned mask = unsigned(nb) - 1;
    // 2. Digit counts per chunk.
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t c = 0; c < chunks; ++c) {
      std::int64_t* h = counts + c * nb;
      std::fill(h, h + nb, std::int64_t(0));
      const std::int64_t e = chunk_lo(c + 1);
      for (std::int64_t i = chunk_lo(c); i < e; ++i) ++h[static_cast<unsigned>(K(key_at(i) - base) >> sh) & mask];
    }
    // 3. Offsets, digit-major and chunk-minor.
#pragma omp single
    {
      shift = sh;
      bucket.assign(std::size_t(nb) + 1, 0);
      std::int64_t sum = 0;
      for (int d = 0; d < nb; ++d) {
        bucket[std::size_t(d)] = sum;
        for (std::int64_t c = 0; c < chunks; ++c) sum += std::exchange(counts[c * nb + d], sum);
      }
      bucket[std::size_t(nb)] = sum;
    }
    // 4. Scatter into tmp.
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t c = 0; c < chunks; ++c) {
      std::int64_t* h = counts + c * nb;
      const std::int64_t e = chunk_lo(c + 1);
      for (std::int64_t i = chunk_lo(c); i < e; ++i) {
        const K k = K(key_at(i) - base);
        tmp[h[static_cast<unsigned>(k >> sh) & mask]++] = k;
      }
    }
    // 5. Each bucket: sort in cache, write out.
#pragma omp for schedule(dynamic, 1)
    for (int d = 0; d < nb; ++d) {
      const std::int64_t b = bucket[std::size_t(d)], m = bucket[std::size_t(d) + 1] - b;
      if (m == 0) continue;
      sort_keys(tmp + b, keys + b, m, shift, false);
      // keys may be dst itself, written below through T: keep the orders apart.
      asm volatile("" ::: "memory");
      if (dst_step == std::int64_t(sizeof(T))) {
        T* dp = reinterpret_cast<T*>(dst) + b;
        for (std::int64_t i = 0; i < m; ++i) dp[i] = SK::from_key(K(tmp[b + i] + base));
      } else {
        for (std::int64_t i = 0; i < m; ++i)
          *reinterpret_cast<T*>(dst + (b + i) * dst_step) = SK::from_key(K(tmp[b + i] + base));
      }
    }
  }
}

template <class T>
Status sort_cpu(const View& src, const View& dst, int threads) {
  using SK = kern::SortKey<T>;
  using K = typename SK::Key;
  const std::int64_t n = detail::row_length(src);
  if (n == 0 || src.numel() == 0) return {};
  const std::int64_t rows = src.numel() / n;
  const std::int64_t ss = detail::elem_stride(src), ds = detail::elem_stride(dst);
  auto oom = [&] {
    return Status(Errc::out_of_memory, "sort: cannot allocate scratch for " + src.describe());
  };

  if ((rows < threads || rows == 1) && n >= kParallelRowMin) {
    // A dense dst row doubles as the buckets' scratch (see sort_row_parallel).
    const bool dense_dst = ds == std::int64_t(sizeof(T));
    ScratchPtr<K> keys = dense_dst ? ScratchPtr<K>() : scratch_alloc<K>(n);
    ScratchPtr<K> tmp = scratch_alloc<K>(n);
    std::unique_ptr<std::int64_t[]> hist(new (std::nothrow) std::int64_t[std::size_t(kMaxChunks) * 2048]);
    if ((!dense_dst && !keys) || !tmp || !hist) return oom();
    for (std::int64_t r = 0; r < rows; ++r) {
      char* d = static_cast<char*>(dst.data) + detail::row_offset(dst, r);
      sort_row_parallel<T>(static_cast<const char*>(src.data) + detail::row_offset(src, r), ss, d, ds, n,
                           dense_dst ? reinterpret_cast<K*>(d) : keys.get(), tmp.get(), hist.get(), threads);
    }
    return {};
  }

  const int team = static_cast<int>(std::min<std::int64_t>(threads, rows));
  std::unique_ptr<K[]> scratch(new (std::nothrow) K[std::size_t(2 * n) * std::size_t(team)]);
  if (!scratch) return oom();
#pragma omp parallel num_threads(team)
  {
    K* keys = scratch.get() + std::size_t(2 * n) * std::size_t(omp_get_thread_num());
    K* tmp = keys + n;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t r = 0; r < rows; ++r) {
      const char* s = static_cast<const char*>(src.data) + detail::row_offset(src, r);
      char* d = static_cast<char*>(dst.data) + detail::row_offset(dst, r);
      K lo = std::numeric_limits<K>::max(), hi = 0;
      if (ss == sizeof(T)) {
        const T* sp = reinterpret_cast<const T*>(s);
        for (std::int64_t i = 0; i < n; ++i) {
          const K k = SK::to_key(sp[i]);
          keys[i] = k;
          lo = k < lo ? k : lo;
          hi = k > hi ? k : hi;
        }
      } else {
        for (std::int64_t i = 0; i < n; ++i) {
          const K k = SK::to_key(*reinterpret_cast<const T*>(s + i * ss));
          keys[i] = k;
          lo = k < lo ? k : lo;
          hi = k > hi ? k : hi;
        }
      }
      sort_keys(keys, tmp, n, differing_bits(lo, hi), false);
      if (ds == sizeof(T)) {
        T* dp = reinterpret_cast<T*>(d);
        for (std::int64_t i = 0; i < n; ++i) dp[i] = SK::from_key(keys[i]);
      } else {
        for (std::int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(d + i * ds) = SK::from_key(keys[i]);
      }
    }
  }
  return {};
}

Status check_device(const View& v, const char* which, const Exec& exec) {
  if (!(v.device == exec.device))
    return {Errc::invalid_argument,
            std::string("sort: ") + which + " is on " + v.device.str() + " but the op runs on " + exec.device.str()};
  return {};
}

}  // namespace

namespace {

Status sort_on_cpu(const View& src, const View& dst, const SortParams&, const Exec& exec) {
  TANDEM_TRY(detail::simd_ready());  // the TANDEM_SIMD cap, before VQSort's first dispatch
  return visit_dtype(src.dtype, [&](auto tag) { return sort_cpu<decltype(tag)>(src, dst, cpu_threads(exec)); });
}

}  // namespace

Status sort(const View& src, const View& dst, const SortParams& p, const Exec& exec) {
  if (src.ndim < 1)
    return {Errc::invalid_argument, "sort: needs an array of rank >= 1 (it sorts along the last axis); got " +
                                        src.describe()};
  if (!dst.same_layout(src))
    return {Errc::invalid_argument, "sort: dst (" + dst.describe() + ") must have the dtype, shape and device of src (" +
                                        src.describe() + ")"};
  TANDEM_TRY(check_device(src, "src", exec));
  TANDEM_TRY(check_device(dst, "dst", exec));
  if (src.numel() > 0 && (!src.data || !dst.data))
    return {Errc::invalid_argument, "sort: src or dst has no data"};
  if (exec.device.is_cuda()) {
    if (!exec.stream)
      return {Errc::invalid_argument, "sort: a CUDA stream is required to run on " + exec.device.str()};
    if (!dst.is_contiguous())
      return {Errc::unsupported, "sort: on CUDA dst must be contiguous; got strides of " + dst.describe()};
  }
  return detail::on_device("sort", src, dst, p, exec, sort_on_cpu,
                           [&](auto stream) { return cuda::sort(src, dst, stream); });
}

Status sort(const View& src, Tensor& dst, const SortParams& p, const Exec& exec) {
  return detail::into_new(
      dst, [&](Tensor& t) { return Tensor::create_like(src, exec.device, t); },
      [&](const View& out) { return sort(src, out, p, exec); });
}

namespace {

const OpSpec kSort = detail::make_op<SortParams>({
    .name = "sort",
    .kind = OpKind::array,
    .doc = "Sort ascending along the last axis; NaNs last (any dtype, any rank >= 1)",
    .semantics = "np.sort(a) (axis=-1; NaNs written as the canonical quiet NaN; -0.0 == +0.0)",
    .layouts = detail::array_layouts(kAllDTypes),
    .run = sort,
});
}  // namespace

TANDEM_OP_SPECS(sort, &kSort)

}  // namespace tandem
