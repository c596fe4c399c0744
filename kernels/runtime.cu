#include "kernels/runtime.hpp"

#include <cstdint>
#include <mutex>
#include <vector>

#include "host/core/device_backend.hpp"
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

namespace {

// The default pool's release threshold is 0: every synchronisation hands the
// pool's free memory back to the driver, and the next batch's cudaMallocAsync
// maps it again (page-table work on the critical path, every batch). Keeping
// what the pool has grown to makes steady-state allocation free. Set once per
// device, when its first stream is made; a failure only costs that speed.
void keep_pool_memory(int device) {
  static std::mutex mu;
  static std::vector<bool> done;
  std::lock_guard lock(mu);
  if (device < 0) return;
  if (done.size() <= std::size_t(device)) done.resize(std::size_t(device) + 1, false);
  if (done[std::size_t(device)]) return;
  done[std::size_t(device)] = true;
  cudaMemPool_t pool = nullptr;
  if (cudaDeviceGetDefaultMemPool(&pool, device) != cudaSuccess) {
    (void)cudaGetLastError();  // no pool support: cudaMallocAsync reports it where it matters
    return;
  }
  std::uint64_t keep = UINT64_MAX;
  ignore_error(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
}

}  // namespace

Status stream_create(int device, void** stream) {
  TANDEM_CUDA_TRY(cudaSetDevice(device));
  keep_pool_memory(device);
  cudaStream_t s = nullptr;
  TANDEM_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  *stream = s;
  return {};
}

void stream_destroy(void* stream) noexcept {
  if (stream) ignore_error(cudaStreamDestroy(as_stream(stream)));
}

Status stream_synchronize(void* stream) {
  return to_status(cudaStreamSynchronize(as_stream(stream)), "cudaStreamSynchronize");
}

Status device_malloc(std::size_t bytes, int device, void** out) {
  TANDEM_CUDA_TRY(cudaSetDevice(device));
  return to_status(cudaMalloc(out, bytes == 0 ? 1 : bytes), "cudaMalloc");
}

void device_free(void* ptr) noexcept {
  if (ptr) ignore_error(cudaFree(ptr));
}

Status device_malloc_async(std::size_t bytes, int device, void* stream, void** out) {
  TANDEM_CUDA_TRY(cudaSetDevice(device));
  return to_status(cudaMallocAsync(out, bytes == 0 ? 1 : bytes, as_stream(stream)), "cudaMallocAsync");
}

void device_free_async(void* ptr, void* stream) noexcept {
  if (ptr) ignore_error(cudaFreeAsync(ptr, as_stream(stream)));
}

Status host_callback(void* stream, void (*fn)(void*), void* data) {
  return to_status(cudaLaunchHostFunc(as_stream(stream), fn, data), "cudaLaunchHostFunc");
}

Status pinned_malloc(std::size_t bytes, void** out) {
  return to_status(cudaHostAlloc(out, bytes == 0 ? 1 : bytes, cudaHostAllocPortable), "cudaHostAlloc");
}

void pinned_free(void* ptr) noexcept {
  if (ptr) ignore_error(cudaFreeHost(ptr));
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

namespace {

class CudaBackend final : public detail::DeviceBackend {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "cuda"; }
  Status stream_create(int device, void** stream) override { return cuda::stream_create(device, stream); }
  void stream_destroy(void* stream) noexcept override { cuda::stream_destroy(stream); }
  Status stream_synchronize(void* stream) override { return cuda::stream_synchronize(stream); }
  Status host_callback(void* stream, void (*fn)(void*), void* data) override {
    return cuda::host_callback(stream, fn, data);
  }
  Status device_malloc(std::size_t bytes, int device, void* stream, void** out) override {
    return stream ? device_malloc_async(bytes, device, stream, out) : cuda::device_malloc(bytes, device, out);
  }
  void device_free(void* ptr, void* stream) noexcept override {
    if (stream) device_free_async(ptr, stream);
    else cuda::device_free(ptr);
  }
  Status pinned_malloc(std::size_t bytes, int /*device*/, void** out) override {
    return cuda::pinned_malloc(bytes, out);  // portable: usable from every device
  }
  void pinned_free(void* ptr) noexcept override { cuda::pinned_free(ptr); }
  Status memcpy_2d(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width_bytes,
                   std::size_t rows, void* stream) override {
    // Packed on both sides (or one row): one linear copy. A 1-D array would
    // otherwise go as n rows of one element, and cudaMemcpy2D refuses pitches
    // above cudaDevAttrMaxPitch (2^31 - 1 bytes: rows longer than 2 GiB) and
    // pitches below the row width (a one-row view's unused stride).
    if (rows <= 1 || (spitch == width_bytes && dpitch == width_bytes))
      return memcpy_1d(dst, src, width_bytes * rows, stream);
    return cuda::memcpy_2d(dst, dpitch, src, spitch, width_bytes, rows, stream);
  }
  // A CUDA op's work queues its own kernels on the stream and returns the
  // launch's status, so it runs here, on the calling thread.
  Status launch(void* /*stream*/, std::function<Status()> work) override { return work(); }
};

}  // namespace

detail::DeviceBackend* backend() noexcept {
  static auto* b = new CudaBackend;  // never destroyed: static Streams and Buffers outlive it otherwise
  return b;
}

}  // namespace tandem::cuda
