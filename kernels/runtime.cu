#include "kernels/runtime.hpp"

#include "kernels/cuda_check.cuh"

namespace tandem::cuda {

int device_count(std::string* reason) noexcept {
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    if (reason) *reason = std::string("CUDA runtime: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error so later calls are not confused
    return 0;
  }
  if (n == 0 && reason) *reason = "CUDA runtime: no CUDA-capable device is detected";
  return n;
}

Status stream_create(int device, void** stream) {
  TANDEM_CUDA_TRY(cudaSetDevice(device));
  cudaStream_t s = nullptr;
  TANDEM_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  *stream = s;
  return {};
}

void stream_destroy(void* stream) noexcept {
  if (stream) cudaStreamDestroy(as_stream(stream));
}

Status stream_synchronize(void* stream) {
  return to_status(cudaStreamSynchronize(as_stream(stream)), "cudaStreamSynchronize");
}

Status device_malloc(std::size_t bytes, int device, void** out) {
  TANDEM_CUDA_TRY(cudaSetDevice(device));
  return to_status(cudaMalloc(out, bytes == 0 ? 1 : bytes), "cudaMalloc");
}

void device_free(void* ptr) noexcept {
  if (ptr) cudaFree(ptr);
}

Status device_malloc_async(std::size_t bytes, int device, void* stream, void** out) {
  TANDEM_CUDA_TRY(cudaSetDevice(device));
  return to_status(cudaMallocAsync(out, bytes == 0 ? 1 : bytes, as_stream(stream)), "cudaMallocAsync");
}

void device_free_async(void* ptr, void* stream) noexcept {
  if (ptr) cudaFreeAsync(ptr, as_stream(stream));
}

Status host_callback(void* stream, void (*fn)(void*), void* data) {
  return to_status(cudaLaunchHostFunc(as_stream(stream), fn, data), "cudaLaunchHostFunc");
}

Status pinned_malloc(std::size_t bytes, void** out) {
  return to_status(cudaHostAlloc(out, bytes == 0 ? 1 : bytes, cudaHostAllocPortable), "cudaHostAlloc");
}

void pinned_free(void* ptr) noexcept {
  if (ptr) cudaFreeHost(ptr);
}

Status memcpy_1d(void* dst, const void* src, std::size_t bytes, void* stream) {
  if (bytes == 0) return {};
  return to_status(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, as_stream(stream)), "cudaMemcpyAsync");
}

Status memcpy_2d(void* dst, std::size_t dpitch, const void* src, std::size_t spitch,
                 std::size_t width_bytes, std::size_t rows, void* stream) {
  if (width_bytes == 0 || rows == 0) return {};
  return to_status(cudaMemcpy2DAsync(dst, dpitch, src, spitch, width_bytes, rows, cudaMemcpyDefault,
                                     as_stream(stream)),
                   "cudaMemcpy2DAsync");
}

}  // namespace tandem::cuda
