// cuBLAS, loaded on first use with dlopen instead of linked: libcublas is
// hundreds of MB whose relocation costs every tandem process ~80 ms at start
// (tandem info must stay under 100 ms), and a CUDA build must still start on a
// machine that has no CUDA libraries at all. Only for .cu files.
#pragma once

#include <cublas_v2.h>

#include "tandem/status.hpp"

namespace tandem::cuda {

/// The cuBLAS entry points tandem uses.
struct CublasApi {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  decltype(&cublasSgemm_v2_64) sgemm_64 = nullptr;
  decltype(&cublasDgemm_v2_64) dgemm_64 = nullptr;
  decltype(&cublasGetStatusName) status_name = nullptr;
  decltype(&cublasGetStatusString) status_string = nullptr;
};

/// Loads libcublas once (thread-safe) and returns its entry points; on failure
/// `api` is null and the Status says which library could not be loaded and why.
Status load_cublas(const CublasApi*& api);

}  // namespace tandem::cuda
