// Device helpers shared by the array ops' CUDA launchers (sort, cumsum): an
// N-d strided view gathered into a contiguous buffer, and stream-ordered
// scratch memory. CUDA only (includes cuda_runtime.h).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda_check.cuh"
#include "tandem/tensor.hpp"

namespace tandem::cuda {

/// Shape and byte strides of a view, passed to kernels by value.
struct Layout {
  int ndim = 0;
  std::int64_t shape[kMaxDims] = {};
  std::int64_t strides[kMaxDims] = {};

  static Layout of(const View& v) {
    Layout l;
    l.ndim = v.ndim;
    for (int d = 0; d < v.ndim; ++d) {
      l.shape[d] = v.shape[d];
      l.strides[d] = v.strides[d];
    }
    return l;
  }
  /// Byte offset of C-order flat index i.
  __device__ __forceinline__ std::int64_t offset(std::int64_t i) const {
    std::int64_t off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      off += (i % shape[d]) * strides[d];
      i /= shape[d];
    }
    return off;
  }
};

/// out[i] = f(element i of the strided view at `base`), C order.
template <class T, class Out, class F>
__global__ void gather_kernel(const char* base, Layout layout, Out* out, std::int64_t n, F f) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = f(*reinterpret_cast<const T*>(base + layout.offset(i)));
}

/// Queues gather_kernel over the view `src` into `out` (n = src.numel()).
template <class T, class Out, class F>
Status gather(const View& src, Out* out, F f, cudaStream_t stream) {
  const std::int64_t n = src.numel();
  if (n == 0) return {};
  constexpr int kBlock = 256;
  const std::int64_t blocks = std::min<std::int64_t>((n + kBlock - 1) / kBlock, 65535 * 8);
  gather_kernel<T, Out, F><<<unsigned(blocks), kBlock, 0, stream>>>(static_cast<const char*>(src.data),
                                                                  Layout::of(src), out, n, f);
  return launch_status("gather_kernel");
}

/// Stream-ordered scratch memory (cudaMallocAsync / cudaFreeAsync), freed on
/// destruction so early returns do not leak.
class Scratch {
 public:
  explicit Scratch(cudaStream_t stream) : stream_(stream) {}
  ~Scratch() {
    if (ptr_) ignore_error(cudaFreeAsync(ptr_, stream_));
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  Status allocate(std::size_t bytes, const char* what) {
    if (ptr_) ignore_error(cudaFreeAsync(ptr_, stream_));
    ptr_ = nullptr;
    const cudaError_t err = cudaMallocAsync(&ptr_, bytes == 0 ? 1 : bytes, stream_);
    if (err != cudaSuccess) {
      ptr_ = nullptr;
      return to_status(err, what);
    }
    return {};
  }
  template <class T>
  [[nodiscard]] T* as() const noexcept { return static_cast<T*>(ptr_); }
  [[nodiscard]] void* get() const noexcept { return ptr_; }

 private:
  cudaStream_t stream_;
  void* ptr_ = nullptr;
};

/// Makes `device` current for the calls that follow (CUB picks its tuning and
/// the stream's device from it).
inline Status use_device(const View& v) { return to_status(cudaSetDevice(v.device.index), "cudaSetDevice"); }

}  // namespace tandem::cuda
