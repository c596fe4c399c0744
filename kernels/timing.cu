// CUDA events, the spin kernel and the GPU roof measurements of `tandem bench`.
#include "kernels/timing.hpp"

#include "kernels/cublas_api.cuh"

#include <algorithm>
#include <cstdint>
#include <memory>

#include "kernels/cuda_check.cuh"

namespace tandem::cuda {

namespace {

__global__ void spin_kernel(std::uint64_t ns) {
  std::uint64_t start = 0, now = 0;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

// Only called after a cuBLAS call, so the library is loaded.
std::string cublas_status_text(cublasStatus_t s) {
  const CublasApi* api = nullptr;
  return load_cublas(api).ok() ? api->status_string(s) : "cuBLAS error";
}

Status blas_status(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return {};
  return {s == CUBLAS_STATUS_ALLOC_FAILED ? Errc::out_of_memory : Errc::cuda_error,
          std::string(what) + ": " + cublas_status_text(s)};
}

// RAII holders so every early return releases what was made.
struct DevMem {
  void* p = nullptr;
  ~DevMem() { if (p) ignore_error(cudaFree(p)); }
};
struct HostMem {
  void* p = nullptr;
  ~HostMem() { if (p) ignore_error(cudaFreeHost(p)); }
};
struct StreamHolder {
  cudaStream_t s = nullptr;
  ~StreamHolder() { if (s) ignore_error(cudaStreamDestroy(s)); }
};
struct EventHolder {
  cudaEvent_t e = nullptr;
  ~EventHolder() { if (e) ignore_error(cudaEventDestroy(e)); }
};

// Best (shortest) time in seconds of `repeats` runs of `body` on `stream`.
template <class Body>
Status best_time(cudaStream_t stream, int repeats, Body&& body, double* seconds) {
  EventHolder a, b;
  TANDEM_CUDA_TRY(cudaEventCreate(&a.e));
  TANDEM_CUDA_TRY(cudaEventCreate(&b.e));
  TANDEM_TRY(body());  // warm-up
  float best = 0;
  for (int r = 0; r < std::max(repeats, 1); ++r) {
    TANDEM_CUDA_TRY(cudaEventRecord(a.e, stream));
    TANDEM_TRY(body());
    TANDEM_CUDA_TRY(cudaEventRecord(b.e, stream));
    TANDEM_CUDA_TRY(cudaEventSynchronize(b.e));
    float ms = 0;
    TANDEM_CUDA_TRY(cudaEventElapsedTime(&ms, a.e, b.e));
    if (r == 0 || ms < best) best = ms;
  }
  *seconds = best * 1e-3;
  return {};
}

}  // namespace

Status event_create(int device, void** event) {
  TANDEM_CUDA_TRY(cudaSetDevice(device));
  cudaEvent_t e = nullptr;
  TANDEM_CUDA_TRY(cudaEventCreate(&e));
  *event = e;
  return {};
}

void event_destroy(void* event) noexcept {
  if (event) ignore_error(cudaEventDestroy(static_cast<cudaEvent_t>(event)));
}

Status event_record(void* event, void* stream) {
  return to_status(cudaEventRecord(static_cast<cudaEvent_t>(event), as_stream(stream)),
                   "cudaEventRecord");
}

Status event_elapsed_ms(void* start, void* stop, float* ms) {
  TANDEM_CUDA_TRY(cudaEventSynchronize(static_cast<cudaEvent_t>(stop)));
  return to_status(cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(start),
                                        static_cast<cudaEvent_t>(stop)),
                   "cudaEventElapsedTime");
}

Status spin(void* stream, double microseconds) {
  const auto ns = static_cast<std::uint64_t>(std::max(0.0, microseconds) * 1e3);
  spin_kernel<<<1, 1, 0, as_stream(stream)>>>(ns);
  return launch_status("spin_kernel");
}

Status device_name(int device, std::string* name) {
  cudaDeviceProp prop{};
  TANDEM_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
  *name = prop.name;
  return {};
}

Status roof_d2d_copy(int device, std::size_t bytes, int repeats, double* gbps) {
  TANDEM_CUDA_TRY(cudaSetDevice(device));
  StreamHolder st;
  TANDEM_CUDA_TRY(cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
  DevMem a, b;
  TANDEM_CUDA_TRY(cudaMalloc(&a.p, bytes));
  TANDEM_CUDA_TRY(cudaMalloc(&b.p, bytes));
  TANDEM_CUDA_TRY(cudaMemsetAsync(a.p, 1, bytes, st.s));
  double s = 0;
  TANDEM_TRY(best_time(st.s, repeats, [&]() -> Status {
    return to_status(cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice, st.s), "cudaMemcpyAsync");
  }, &s));
  *gbps = 2.0 * double(bytes) / s * 1e-9;
  return {};
}

Status roof_host_copies(int device, std::size_t bytes, int repeats, double* h2d_gbps,
                        double* d2h_gbps) {
  TANDEM_CUDA_TRY(cudaSetDevice(device));
  StreamHolder st;
  TANDEM_CUDA_TRY(cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
  DevMem d;
  HostMem h;
  TANDEM_CUDA_TRY(cudaMalloc(&d.p, bytes));
  TANDEM_CUDA_TRY(cudaHostAlloc(&h.p, bytes, cudaHostAllocDefault));
  std::fill_n(static_cast<unsigned char*>(h.p), bytes, static_cast<unsigned char>(1));
  double s = 0;
  TANDEM_TRY(best_time(st.s, repeats, [&]() -> Status {
    return to_status(cudaMemcpyAsync(d.p, h.p, bytes, cudaMemcpyHostToDevice, st.s), "cudaMemcpyAsync");
  }, &s));
  *h2d_gbps = double(bytes) / s * 1e-9;
  TANDEM_TRY(best_time(st.s, repeats, [&]() -> Status {
    return to_status(cudaMemcpyAsync(h.p, d.p, bytes, cudaMemcpyDeviceToHost, st.s), "cudaMemcpyAsync");
  }, &s));
  *d2h_gbps = double(bytes) / s * 1e-9;
  return {};
}

Status roof_sgemm(int device, int n, int repeats, double* gflops) {
  TANDEM_CUDA_TRY(cudaSetDevice(device));
  StreamHolder st;
  TANDEM_CUDA_TRY(cudaStreamCreateWithFlags(&st.s, cudaStreamNonBlocking));
  const std::size_t bytes = std::size_t(n) * std::size_t(n) * sizeof(float);
  DevMem a, b, c;
  TANDEM_CUDA_TRY(cudaMalloc(&a.p, bytes));
  TANDEM_CUDA_TRY(cudaMalloc(&b.p, bytes));
  TANDEM_CUDA_TRY(cudaMalloc(&c.p, bytes));
  // Zero bits are a valid float 0; the rate does not depend on the values.
  TANDEM_CUDA_TRY(cudaMemsetAsync(a.p, 0, bytes, st.s));
  TANDEM_CUDA_TRY(cudaMemsetAsync(b.p, 0, bytes, st.s));
  const CublasApi* api = nullptr;
  TANDEM_TRY(load_cublas(api));
  cublasHandle_t raw = nullptr;
  TANDEM_TRY(blas_status(api->create(&raw), "cublasCreate"));
  std::unique_ptr<cublasContext, decltype(api->destroy)> handle(raw, api->destroy);
  TANDEM_TRY(blas_status(api->set_stream(raw, st.s), "cublasSetStream"));
  // Plain FP32 (no TF32 tensor cores), the same math as matmul's default.
  TANDEM_TRY(blas_status(api->set_math_mode(raw, CUBLAS_DEFAULT_MATH), "cublasSetMathMode"));
  const float one = 1.0f, zero = 0.0f;
  double s = 0;
  TANDEM_TRY(best_time(st.s, repeats, [&]() -> Status {
    return blas_status(api->sgemm(raw, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one,
                                   static_cast<const float*>(a.p), n, static_cast<const float*>(b.p), n,
                                   &zero, static_cast<float*>(c.p), n),
                       "cublasSgemm");
  }, &s));
  *gflops = 2.0 * double(n) * double(n) * double(n) / s * 1e-9;
  return {};
}

}  // namespace tandem::cuda
