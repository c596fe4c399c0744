// CUDA histogram: each block counts into its own shared-memory copy of the
// bins (32-bit atomics, cheap and mostly conflict-free) with the shared bin
// function of kernels/histogram.cuh, then adds its copy to the global i64
// counts.  Too many bins for shared memory: global 64-bit atomics.
// (CUB's HistogramEven computes bin indices differently from NumPy, so it is
// not used.)
#include <algorithm>

#include "kernels/cuda_check.cuh"
#include "kernels/elementwise_launch.cuh"
#include "kernels/histogram.cuh"

namespace tandem::cuda {
namespace {

constexpr int kThreads = 256;
// 12288 u32 counters = 48 KiB, the shared memory every block gets without an opt-in.
constexpr std::int64_t kSharedBins = 48 * 1024 / 4;
constexpr std::int64_t kPerThread = 16;

using Count = unsigned long long;
static_assert(sizeof(Count) == sizeof(std::int64_t));

// A block sees at most n / gridDim elements, far below 2^32 for any array that
// fits in memory, so the 32-bit shared counters cannot wrap.
template <class T>
__global__ void __launch_bounds__(kThreads) hist_shared(const T* __restrict__ in, std::int64_t n,
                                                        kern::HistBins bins, Count* __restrict__ out) {
  extern __shared__ unsigned int local[];
  for (std::int64_t k = threadIdx.x; k < bins.n; k += kThreads) local[k] = 0;
  __syncthreads();
  const std::int64_t stride = std::int64_t(gridDim.x) * kThreads;
  for (std::int64_t i = std::int64_t(blockIdx.x) * kThreads + threadIdx.x; i < n; i += stride) {
    const std::int64_t k = bins.bin(in[i]);
    if (k >= 0) atomicAdd(&local[k], 1u);
  }
  __syncthreads();
  for (std::int64_t k = threadIdx.x; k < bins.n; k += kThreads)
    if (local[k]) atomicAdd(&out[k], static_cast<Count>(local[k]));
}

template <class T>
__global__ void __launch_bounds__(kThreads) hist_global(const T* __restrict__ in, std::int64_t n,
                                                        kern::HistBins bins, Count* __restrict__ out) {
  const std::int64_t stride = std::int64_t(gridDim.x) * kThreads;
  for (std::int64_t i = std::int64_t(blockIdx.x) * kThreads + threadIdx.x; i < n; i += stride) {
    const std::int64_t k = bins.bin(in[i]);
    if (k >= 0) atomicAdd(&out[k], Count(1));
  }
}

template <class T>
Status run(const View& src, const View& dst, const kern::HistBins& bins, cudaStream_t s) {
  const std::int64_t n = src.numel();
  Count* out = reinterpret_cast<Count*>(dst.ptr<std::int64_t>());
  TANDEM_CUDA_TRY(cudaMemsetAsync(out, 0, sizeof(Count) * std::size_t(bins.n), s));
  if (n == 0) return {};
  const std::int64_t want = (n + kThreads * kPerThread - 1) / (kThreads * kPerThread);
  if (bins.n <= kSharedBins) {
    // Fewer, fuller blocks: each one zeroes and flushes all the bins.
    const int blocks = static_cast<int>(std::clamp<std::int64_t>(want, 1, 132 * 4));
    hist_shared<T><<<blocks, kThreads, sizeof(unsigned int) * std::size_t(bins.n), s>>>(src.ptr<const T>(), n, bins,
                                                                                          out);
    return launch_status("hist_shared");
  }
  const int blocks = static_cast<int>(std::clamp<std::int64_t>(want, 1, 132 * 16));
  hist_global<T><<<blocks, kThreads, 0, s>>>(src.ptr<const T>(), n, bins, out);
  return launch_status("hist_global");
}

template <class T>
Status minmax_to_host(const View& src, DataMinMax& out, cudaStream_t s) {
  kern::MinMax<T>* dev = nullptr;
  TANDEM_TRY(device_minmax(src.ptr<const T>(), src.numel(), &dev, s));
  kern::MinMax<T> host{};
  Status st = to_status(cudaMemcpyAsync(&host, dev, sizeof host, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync");
  const Status freed = to_status(cudaFreeAsync(dev, s), "cudaFreeAsync");
  const Status synced = to_status(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  if (!st.ok()) return st;
  if (!freed.ok()) return freed;
  if (!synced.ok()) return synced;
  out = DataMinMax::of(host.min, host.max);
  return {};
}

}  // namespace

Status data_minmax(const View& src, DataMinMax& out, void* stream) {
  TANDEM_TRY(check_aligned(src, "input", "histogram"));  // a misaligned access would lose the device
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  const cudaStream_t s = as_stream(stream);
  return visit_dtype(src.dtype, [&](auto tag) { return minmax_to_host<decltype(tag)>(src, out, s); });
}

Status histogram(const View& src, const View& dst, const kern::HistBins& bins, void* stream) {
  TANDEM_TRY(check_aligned(src, dst, "histogram"));  // a misaligned access would lose the device
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  const cudaStream_t s = as_stream(stream);
  return visit_dtype(src.dtype, [&](auto tag) { return run<decltype(tag)>(src, dst, bins, s); });
}

}  // namespace tandem::cuda
