// sort: validation, dispatch, the OpenMP implementation and the op-table entry.
//
// CPU algorithm: every value is mapped to an unsigned key whose unsigned order
// is NumPy's order (kernels/sort.cuh: sign flips for integers and floats, NaN
// -> the key above +inf), the keys are sorted, and mapped back. Short rows use
// std::sort on the keys; longer rows an LSD radix sort with 8-bit digits that
// skips passes whose digit is the same for every key (so u8 takes one pass,
// and e.g. small non-negative i64 values only a few). Many rows: one row per
// thread at a time. One or a few long rows: each row is radix-sorted by the
// whole team (per-thread digit histograms, prefix offsets, stable scatter).
#include "tandem/ops/sort.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <utility>

#include "host/array_rows.hpp"
#include "host/parallel.hpp"
#include "kernels/sort.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

/// A row at least this long is sorted by the whole team when rows are few.
constexpr std::int64_t kParallelRowMin = std::int64_t(1) << 16;
/// Rows up to this length use std::sort on the keys (radix setup costs more).
constexpr std::int64_t kSmallRow = 256;

template <class K>
inline unsigned digit(K k, int pass) noexcept {
  return static_cast<unsigned>(k >> (8 * pass)) & 0xFFu;
}

/// Sorts the n keys in `a` (result in `a`); `tmp` is scratch of n keys.
template <class K>
void radix_sort_serial(K* a, K* tmp, std::int64_t n) {
  if (n <= kSmallRow) {
    std::sort(a, a + n);
    return;
  }
  constexpr int kPasses = sizeof(K);
  // The digit counts do not depend on the order, so one read gives every pass's.
  std::array<std::array<std::int64_t, 256>, kPasses> hist{};
  for (std::int64_t i = 0; i < n; ++i) {
    const K k = a[i];
    for (int p = 0; p < kPasses; ++p) ++hist[p][digit(k, p)];
  }
  K* from = a;
  K* to = tmp;
  for (int p = 0; p < kPasses; ++p) {
    auto& h = hist[p];
    if (h[digit(from[0], p)] == n) continue;  // all keys share this digit: the pass is a no-op
    std::int64_t sum = 0;
    for (auto& c : h) sum += std::exchange(c, sum);
    for (std::int64_t i = 0; i < n; ++i) {
      const K k = from[i];
      to[h[digit(k, p)]++] = k;
    }
    std::swap(from, to);
  }
  if (from != a) std::memcpy(a, from, std::size_t(n) * sizeof(K));
}

/// Sorts one row of n elements with the whole team: load keys (strided src),
/// parallel LSD radix passes, store (strided dst). `keys`, `tmp`: n keys each;
/// `hist`: 256 counts per requested thread.
template <class T>
void sort_row_parallel(const char* src, std::int64_t src_step, char* dst, std::int64_t dst_step,
                       std::int64_t n, typename kern::SortKey<T>::Key* keys,
                       typename kern::SortKey<T>::Key* tmp, std::int64_t* hist, int threads) {
  using SK = kern::SortKey<T>;
  using K = typename SK::Key;
  constexpr int kPasses = sizeof(K);
  K* from = keys;
  K* to = tmp;
  bool skip = false;
#pragma omp parallel num_threads(threads)
  {
    const int nt = omp_get_num_threads();
    const int t = omp_get_thread_num();
    const std::int64_t lo = n * t / nt, hi = n * (t + 1) / nt;
    std::int64_t* h = hist + std::int64_t(t) * 256;
    for (std::int64_t i = lo; i < hi; ++i)
      keys[i] = SK::to_key(*reinterpret_cast<const T*>(src + i * src_step));
    for (int p = 0; p < kPasses; ++p) {
      std::fill(h, h + 256, 0);  // only this thread touches h until the barrier
      for (std::int64_t i = lo; i < hi; ++i) ++h[digit(from[i], p)];
#pragma omp barrier
#pragma omp single
      {
        // Offsets: digit-major, thread-minor, so the scatter is stable.
        std::int64_t sum = 0;
        skip = false;
        for (int d = 0; d < 256 && !skip; ++d) {
          std::int64_t total = 0;
          for (int u = 0; u < nt; ++u) total += hist[u * 256 + d];
          skip = total == n;
        }
        if (!skip)
          for (int d = 0; d < 256; ++d)
            for (int u = 0; u < nt; ++u) sum += std::exchange(hist[u * 256 + d], sum);
      }  // implicit barrier
      if (!skip) {
        for (std::int64_t i = lo; i < hi; ++i) {
          const K k = from[i];
          to[h[digit(k, p)]++] = k;
        }
#pragma omp barrier
#pragma omp single
        std::swap(from, to);
      }
    }
    for (std::int64_t i = lo; i < hi; ++i)
      *reinterpret_cast<T*>(dst + i * dst_step) = SK::from_key(from[i]);
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

  if (rows < threads && n >= kParallelRowMin && threads > 1) {
    std::unique_ptr<K[]> keys(new (std::nothrow) K[std::size_t(n)]);
    std::unique_ptr<K[]> tmp(new (std::nothrow) K[std::size_t(n)]);
    std::unique_ptr<std::int64_t[]> hist(new (std::nothrow) std::int64_t[std::size_t(threads) * 256]);
    if (!keys || !tmp || !hist) return oom();
    for (std::int64_t r = 0; r < rows; ++r)
      sort_row_parallel<T>(static_cast<const char*>(src.data) + detail::row_offset(src, r), ss,
                           static_cast<char*>(dst.data) + detail::row_offset(dst, r), ds, n,
                           keys.get(), tmp.get(), hist.get(), threads);
    return {};
  }

  const int team = static_cast<int>(std::min<std::int64_t>(threads, rows));
  std::unique_ptr<K[]> scratch(new (std::nothrow) K[std::size_t(2 * n) * std::size_t(team)]);
  if (!scratch) return oom();
#pragma omp parallel num_threads(team)
  {
    K* keys = scratch.get() + std::size_t(2 * n) * std::size_t(omp_get_thread_num());
    K* tmp = keys + n;
#pragma omp for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      const char* s = static_cast<const char*>(src.data) + detail::row_offset(src, r);
      char* d = static_cast<char*>(dst.data) + detail::row_offset(dst, r);
      if (ss == sizeof(T)) {
        const T* sp = reinterpret_cast<const T*>(s);
        for (std::int64_t i = 0; i < n; ++i) keys[i] = SK::to_key(sp[i]);
      } else {
        for (std::int64_t i = 0; i < n; ++i) keys[i] = SK::to_key(*reinterpret_cast<const T*>(s + i * ss));
      }
      radix_sort_serial(keys, tmp, n);
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

Status sort(const View& src, const View& dst, const SortParams&, const Exec& exec) {
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
#if TANDEM_WITH_CUDA
    return cuda::sort(src, dst, exec.stream);
#else
    return {Errc::unsupported, "sort: " + cuda_status()};
#endif
  }
  return visit_dtype(src.dtype, [&](auto tag) { return sort_cpu<decltype(tag)>(src, dst, cpu_threads(exec)); });
}

Status sort(const View& src, Tensor& dst, const SortParams& p, const Exec& exec) {
  Tensor out;
  TANDEM_TRY(Tensor::create_like(src, exec.device, out));
  TANDEM_TRY(sort(src, out.view(), p, exec));
  dst = std::move(out);
  return {};
}

namespace {

Status run_sort(const OpArgs&, const View& src, Tensor& dst, const Exec& exec) {
  return sort(src, dst, SortParams{}, exec);
}

const OpSpec kSort{
    .name = "sort",
    .kind = OpKind::array,
    .doc = "Sort ascending along the last axis; NaNs last (any dtype, any rank >= 1)",
    .semantics = "np.sort(a) (axis=-1; NaNs written as the canonical quiet NaN; -0.0 == +0.0)",
    .params = {},
    .dtypes = {DType::u8, DType::u16, DType::i32, DType::i64, DType::f32, DType::f64},
    .channels = kAnyChannels,
    .run = &run_sort,
    .outputs = {},
};
const OpSpec* const kSortOps[] = {&kSort};

}  // namespace

namespace detail {
std::span<const OpSpec* const> sort_ops() { return kSortOps; }
}  // namespace detail

}  // namespace tandem
