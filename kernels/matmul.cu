// matmul on CUDA: cuBLAS sgemm / dgemm on the caller's stream. cuBLAS is
// column-major; a row-major M x N matrix is the column-major N x M matrix with
// the same leading dimension, so C = A B is computed as C^T = B^T A^T by
// passing B first and swapping M and N, with no transposes or copies.

#include <utility>
#include <vector>

#include "kernels/cublas_api.cuh"
#include "kernels/cuda_check.cuh"
#include "kernels/matmul.cuh"
#include "kernels/strided.cuh"

namespace tandem::cuda {
namespace {

Status cublas_status(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return {};
  Errc code = Errc::cuda_error;
  switch (s) {
    case CUBLAS_STATUS_ALLOC_FAILED: code = Errc::out_of_memory; break;
    case CUBLAS_STATUS_NOT_INITIALIZED: code = Errc::no_device; break;  // no driver / device
    case CUBLAS_STATUS_INVALID_VALUE: code = Errc::internal; break;     // we validated the arguments
    case CUBLAS_STATUS_ARCH_MISMATCH:
    case CUBLAS_STATUS_NOT_SUPPORTED: code = Errc::unsupported; break;
    default: break;
  }
  const CublasApi* api = nullptr;
  (void)load_cublas(api);  // loaded: a cuBLAS call produced `s`
  return {code, std::string(what) + ": " + api->status_name(s) + " (" + api->status_string(s) + ")"};
}

/// The cuBLAS handles of one host thread, one per (device, stream), created on
/// first use (cublasCreate is slow and allocates) and destroyed when the thread
/// exits. One handle per stream, not per thread: a handle's default workspace
/// would otherwise be shared by GEMMs running at once on the GPU feeder's two
/// streams. At most kMax per thread (the oldest goes first).
class HandleCache {
 public:
  HandleCache() = default;
  HandleCache(const HandleCache&) = delete;
  HandleCache& operator=(const HandleCache&) = delete;
  ~HandleCache() {
    const CublasApi* api = nullptr;
    if (!handles_.empty() && load_cublas(api).ok())
      for (auto& entry : handles_) api->destroy(entry.handle);
  }
  /// The handle for `stream` on `device`, which must be the current device.
  Status get(int device, void* stream, cublasHandle_t& out) {
    for (auto& e : handles_)
      if (e.device == device && e.stream == stream) {
        out = e.handle;
        return {};
      }
    const CublasApi* api = nullptr;
    TANDEM_TRY(load_cublas(api));
    if (handles_.size() >= kMax) {
      api->destroy(handles_.front().handle);
      handles_.erase(handles_.begin());
    }
    cublasHandle_t h = nullptr;
    TANDEM_TRY(cublas_status(api->create(&h), "cublasCreate"));
    handles_.push_back({device, stream, h});
    out = h;
    return {};
  }

 private:
  static constexpr std::size_t kMax = 4;
  struct Entry {
    int device;
    void* stream;
    cublasHandle_t handle;
  };
  std::vector<Entry> handles_;
};

thread_local HandleCache t_handles;

/// Leading dimension (elements between rows) of a validated 2-D view.
std::int64_t leading_dim(const View& v) {
  if (v.shape[0] <= 1) return std::max<std::int64_t>(v.shape[1], 1);
  return v.strides[0] / std::int64_t(v.elem_size());
}

__global__ void widen_kernel(const float* src, std::int64_t ld, double* dst, std::int64_t rows, std::int64_t cols) {
  const std::int64_t n = rows * cols;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    dst[i] = double(src[(i / cols) * ld + i % cols]);
}

/// An f64 operand: the view itself, or a packed widened copy of an f32 view.
Status as_f64(const View& v, Scratch& scratch, const double*& data, std::int64_t& ld, cudaStream_t stream) {
  if (v.dtype == DType::f64) {
    data = static_cast<const double*>(v.data);
    ld = leading_dim(v);
    return {};
  }
  const std::int64_t rows = v.shape[0], cols = v.shape[1];
  TANDEM_TRY(scratch.allocate(std::size_t(rows * cols) * sizeof(double), "matmul: cudaMallocAsync"));
  constexpr int kBlock = 256;
  const std::int64_t blocks = std::min<std::int64_t>((rows * cols + kBlock - 1) / kBlock, 65535 * 8);
  widen_kernel<<<unsigned(blocks), kBlock, 0, stream>>>(static_cast<const float*>(v.data), leading_dim(v),
                                                       scratch.as<double>(), rows, cols);
  TANDEM_TRY(launch_status("matmul widen_kernel"));
  data = scratch.as<double>();
  ld = cols;
  return {};
}

}  // namespace

Status matmul(const View& a, const View& b, const View& c, bool allow_tf32, void* stream_ptr) {
  const cudaStream_t stream = as_stream(stream_ptr);
  const std::int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  if (m == 0 || n == 0) return {};
  // cuBLAS reads A and B and writes C through element pointers: a misaligned
  // one would be a sticky misaligned-address fault.
  TANDEM_TRY(check_aligned(a, "input A", "matmul"));
  TANDEM_TRY(check_aligned(b, "input B", "matmul"));
  TANDEM_TRY(check_aligned(c, "output", "matmul"));
  TANDEM_TRY(use_device(c));
  const std::int64_t ldc = leading_dim(c);
  if (k == 0)  // an empty sum: zeros (cuBLAS would reject lda = 0)
    return to_status(cudaMemset2DAsync(c.data, std::size_t(ldc) * c.elem_size(), 0, std::size_t(n) * c.elem_size(),
                                       std::size_t(m), stream),
                     "matmul: cudaMemset2DAsync");

  const CublasApi* api = nullptr;
  TANDEM_TRY(load_cublas(api));
  const CublasApi& blas = *api;
  cublasHandle_t handle = nullptr;
  TANDEM_TRY(t_handles.get(c.device.index, stream, handle));
  TANDEM_TRY(cublas_status(blas.set_stream(handle, stream), "cublasSetStream"));
  if (c.dtype == DType::f32) {
    TANDEM_TRY(cublas_status(
        blas.set_math_mode(handle, allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode"));
    const float one = 1, zero = 0;
    return cublas_status(blas.sgemm_64(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one,
                                        static_cast<const float*>(b.data), leading_dim(b),
                                        static_cast<const float*>(a.data), leading_dim(a), &zero,
                                        static_cast<float*>(c.data), ldc),
                         "cublasSgemm_64");
  }
  Scratch wide_a(stream), wide_b(stream);
  const double* pa = nullptr;
  const double* pb = nullptr;
  std::int64_t lda = 0, ldb = 0;
  TANDEM_TRY(as_f64(a, wide_a, pa, lda, stream));
  TANDEM_TRY(as_f64(b, wide_b, pb, ldb, stream));
  TANDEM_TRY(cublas_status(blas.set_math_mode(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode"));
  const double one = 1, zero = 0;
  return cublas_status(blas.dgemm_64(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &one, pb, ldb, pa, lda, &zero,
                                      static_cast<double*>(c.data), ldc),
                       "cublasDgemm_64");
}

}  // namespace tandem::cuda
