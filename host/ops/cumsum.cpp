#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
// cumsum: validation, dispatch, the OpenMP implementation and the op-table entry.
//
// CPU algorithm: a two-pass blocked scan. The flattened input is cut into one
// contiguous block per thread; pass 1 sums each block, each thread then adds
// up the sums of the blocks before its own, and pass 2 scans its block from
// that offset. Each element is read twice and written once. Blocks are summed
// in order (no reassociation inside a block), so for inputs >= 0 the float
// result is non-decreasing.
#include "tandem/ops/cumsum.hpp"

#include <algorithm>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

#include "host/ops/array_rows.hpp"
#include "host/core/parallel.hpp"
#include "kernels/cumsum.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

/// Below this many elements one thread scans everything.
constexpr std::int64_t kParallelMin = std::int64_t(1) << 15;
/// Fewest threads for which the two-pass parallel scan is used.
constexpr int kParallelThreads = 3;
/// Block of the parallel scan.
constexpr std::int64_t kBlock = std::int64_t(1) << 16;

template <class T>
Status cumsum_cpu(const View& src, const View& dst, int threads) {
  using Acc = typename kern::CumsumTypes<T>::Acc;
  using Out = typename kern::CumsumTypes<T>::Out;
  const kern::CumsumLoad<T> load;
  const std::int64_t n = src.numel();
  if (n == 0) return {};
  // The parallel scan reads the input twice (block sums, then the scan), 1.5x
  // the traffic of the serial scan, which runs near one core's memory bandwidth
  // (about 1 Gelem/s, one f64 add per element): two threads gained nothing on
  // a 2-vCPU VM (tandem bench, 2026-11-22) and lost to scheduling, so the team
  // starts at three threads.
  const int team = n < kParallelMin || threads < kParallelThreads ? 1 : threads;

  // Strided inputs are packed first (row by row along the last axis).
  const T* in = static_cast<const T*>(src.data);
  std::unique_ptr<T[]> packed;
  if (!src.is_contiguous()) {
    packed.reset(new (std::nothrow) T[std::size_t(n)]);
    if (!packed) return {Errc::out_of_memory, "cumsum: cannot allocate a packed copy of " + src.describe()};
    const std::int64_t len = detail::row_length(src), step = detail::elem_stride(src);
    const std::int64_t rows = len ? n / len : 0;
    T* p = packed.get();
#pragma omp parallel for num_threads(team) schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      const char* row = static_cast<const char*>(src.data) + detail::row_offset(src, r);
      for (std::int64_t i = 0; i < len; ++i) p[r * len + i] = *reinterpret_cast<const T*>(row + i * step);
    }
    in = p;
  }
  Out* out = static_cast<Out*>(dst.data);

  if (team == 1) {
    Acc s = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      s += load(in[i]);
      out[i] = kern::cumsum_store<T>(s);
    }
    return {};
  }
  // Fixed blocks handed out dynamically (a preempted thread does not hold up
  // the others): block sums, their exclusive prefix, then each block's scan
  // from its offset. The result does not depend on the thread count.
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<Acc> offset(std::size_t(blocks), Acc(0));
#pragma omp parallel num_threads(team)
  {
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t hi = std::min(n, (b + 1) * kBlock);
      Acc s = 0;
#pragma omp simd reduction(+ : s)
      for (std::int64_t i = b * kBlock; i < hi; ++i) s += load(in[i]);
      offset[std::size_t(b)] = s;
    }
#pragma omp single
    {
      Acc run = 0;
      for (auto& o : offset) run += std::exchange(o, run);
    }
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::int64_t hi = std::min(n, (b + 1) * kBlock);
      Acc run = offset[std::size_t(b)];
      for (std::int64_t i = b * kBlock; i < hi; ++i) {
        run += load(in[i]);
        out[i] = kern::cumsum_store<T>(run);
      }
    }
  }
  return {};
}

}  // namespace

namespace {

Status cumsum_on_cpu(const View& src, const View& dst, const CumsumParams&, const Exec& exec) {
  return visit_dtype(src.dtype, [&](auto tag) { return cumsum_cpu<decltype(tag)>(src, dst, cpu_threads(exec)); });
}

}  // namespace

Status cumsum(const View& src, const View& dst, const CumsumParams& p, const Exec& exec) {
  const DType out_type = cumsum_dtype(src.dtype);
  const std::int64_t n = src.numel();
  if (dst.dtype != out_type || dst.ndim != 1 || dst.shape[0] != n || !dst.is_contiguous())
    return {Errc::invalid_argument, "cumsum: dst must be a contiguous 1-D " + std::string(dtype_name(out_type)) +
                                        " array of " + std::to_string(n) + " elements for src " + src.describe() +
                                        "; got " + dst.describe()};
  for (const auto& [v, which] : {std::pair{&src, "src"}, std::pair{&dst, "dst"}})
    if (!(v->device == exec.device))
      return {Errc::invalid_argument, std::string("cumsum: ") + which + " is on " + v->device.str() +
                                          " but the op runs on " + exec.device.str()};
  if (n > 0 && (!src.data || !dst.data)) return {Errc::invalid_argument, "cumsum: src or dst has no data"};
  if (exec.device.is_cuda()) {
    if (!exec.stream)
      return {Errc::invalid_argument, "cumsum: a CUDA stream is required to run on " + exec.device.str()};
  }
  return detail::on_device("cumsum", src, dst, p, exec, cumsum_on_cpu,
                           [&](auto stream) { return cuda::cumsum(src, dst, stream); });
}

Status cumsum(const View& src, Tensor& dst, const CumsumParams& p, const Exec& exec) {
  return detail::into_new(
      dst, [&](Tensor& t) { return Tensor::create(cumsum_dtype(src.dtype), {src.numel()}, exec.device, t); },
      [&](const View& out) { return cumsum(src, out, p, exec); });
}

namespace {

const OpSpec kCumsum = detail::make_op<CumsumParams>({
    .name = "cumsum",
    .kind = OpKind::array,
    .doc = "Cumulative sum of the flattened array (1-D result; integer inputs give i64)",
    .semantics = "np.cumsum(a) (axis=None; u8/u16 give i64 where NumPy gives uint64, same values; "
                 "f32 is accumulated in double, more accurate than NumPy's f32 sum; i64 overflow wraps)",
    .layouts = detail::array_layouts(kAllDTypes),
    .run = cumsum,
});
}  // namespace

TANDEM_OP_SPECS(cumsum, &kCumsum)

}  // namespace tandem
