// Turning CUDA errors into tandem::Status (only for .cu files).
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "tandem/status.hpp"

namespace tandem::cuda {

inline Status to_status(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return {};
  const Errc code = err == cudaErrorMemoryAllocation ? Errc::out_of_memory
                    : (err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver ||
                       err == cudaErrorInvalidDevice)
                        ? Errc::no_device
                        : Errc::cuda_error;
  return {code, std::string(what) + ": " + cudaGetErrorString(err)};
}

/// Status of the last kernel launch (launch-configuration errors are synchronous).
inline Status launch_status(const char* kernel) {
  return to_status(cudaGetLastError(), kernel);
}

inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

}  // namespace tandem::cuda

#define TANDEM_CUDA_TRY(call) TANDEM_TRY(::tandem::cuda::to_status((call), #call))
