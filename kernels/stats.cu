// CUDA stats: each thread accumulates shifted sums over a grid-stride slice,
// a CUB block reduction merges the threads (Chan) into one partial per block,
// and a one-block kernel merges the partials and writes the six values.
// No atomics, so the result is the same run to run; nothing waits on the host.
#include <cub/block/block_reduce.cuh>
#include <math_constants.h>

#include <algorithm>

#include "kernels/cuda_check.cuh"
#include "kernels/stats.cuh"

namespace tandem::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 1024;
constexpr std::int64_t kPerThread = 16;  // at least this many elements per thread before adding blocks

struct Merge {
  __device__ kern::StatsAcc operator()(const kern::StatsAcc& a, const kern::StatsAcc& b) const {
    return kern::stats_merge(a, b);
  }
};

template <class T>
__global__ void __launch_bounds__(kThreads) stats_partial(const T* __restrict__ in, std::int64_t n,
                                                          kern::StatsAcc* __restrict__ partials) {
  using BlockReduce = cub::BlockReduce<kern::StatsAcc, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;

  const std::int64_t stride = std::int64_t(gridDim.x) * kThreads;
  const std::int64_t first = std::int64_t(blockIdx.x) * kThreads + threadIdx.x;
  // Shift by the thread's first value: the shifted sums stay of the order of
  // the spread, so the variance keeps f64 precision whatever the mean.
  const double k = first < n ? static_cast<double>(in[first]) : 0.0;
  double cnt = 0, s1 = 0, s2 = 0, sum = 0;
  double mn = CUDART_INF, mx = -CUDART_INF;
  bool nan = false;
  for (std::int64_t i = first; i < n; i += stride) {
    const double v = static_cast<double>(in[i]);
    const double d = v - k;
    s1 += d;
    s2 = fma(d, d, s2);
    sum += v;
    mn = fmin(mn, v);
    mx = fmax(mx, v);
    nan |= (v != v);
    cnt += 1;
  }
  if (nan) mn = mx = CUDART_NAN;
  const kern::StatsAcc mine = kern::stats_from_shifted(cnt, k, s1, s2, sum, mn, mx);
  const kern::StatsAcc block = BlockReduce(temp).Reduce(mine, Merge{});
  if (threadIdx.x == 0) partials[blockIdx.x] = block;
}

__global__ void __launch_bounds__(kThreads) stats_final(const kern::StatsAcc* __restrict__ partials, int count,
                                                        double* __restrict__ out) {
  using BlockReduce = cub::BlockReduce<kern::StatsAcc, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  kern::StatsAcc mine = kern::stats_empty();
  for (int i = threadIdx.x; i < count; i += kThreads) mine = kern::stats_merge(mine, partials[i]);
  const kern::StatsAcc all = BlockReduce(temp).Reduce(mine, Merge{});
  if (threadIdx.x == 0) kern::stats_finalize(all, out);
}

template <class T>
Status run(const View& src, const View& dst, cudaStream_t s) {
  const std::int64_t n = src.numel();
  const std::int64_t want = (n + kThreads * kPerThread - 1) / (kThreads * kPerThread);
  const int blocks = static_cast<int>(std::clamp<std::int64_t>(want, 1, kMaxBlocks));
  kern::StatsAcc* partials = nullptr;
  TANDEM_CUDA_TRY(cudaMallocAsync(reinterpret_cast<void**>(&partials), sizeof(kern::StatsAcc) * blocks, s));
  const Status st = [&]() -> Status {
    stats_partial<T><<<blocks, kThreads, 0, s>>>(src.ptr<const T>(), n, partials);
    TANDEM_TRY(launch_status("stats_partial"));
    stats_final<<<1, kThreads, 0, s>>>(partials, blocks, dst.ptr<double>());
    return launch_status("stats_final");
  }();
  const Status freed = to_status(cudaFreeAsync(partials, s), "cudaFreeAsync");
  return st.ok() ? freed : st;
}

}  // namespace

Status stats(const View& src, const View& dst, void* stream) {
  TANDEM_TRY(check_aligned(src, dst, "stats"));  // a misaligned access would lose the device
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  const cudaStream_t s = as_stream(stream);
  return visit_dtype(src.dtype, [&](auto tag) { return run<decltype(tag)>(src, dst, s); });
}

}  // namespace tandem::cuda
