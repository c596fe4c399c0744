// Turning CUDA errors into tandem::Status (only for .cu files).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

namespace tandem::cuda {

/// What a CUDA error means for tandem; the one mapping every .cu file uses.
///  - device_lost: the context is corrupt (the runtime says the process "must
///    be terminated"): every later call on the device fails, so the feeder
///    retires the device instead of retrying on it.
///  - out_of_memory, cuda_error: recoverable; the device keeps working, so the
///    item may be retried (after memory is released, for out_of_memory).
///  - no_device: no usable device or driver; never retried, the device is
///    not used at all.
///  - unsupported: this build or device cannot run the call (no kernel image
///    for the architecture, a feature the device lacks); not retried on it.
///  - internal: tandem passed the runtime something invalid (a bug); not retried.
inline Errc errc_for(cudaError_t err) noexcept {
  switch (err) {
    case cudaSuccess: return Errc::ok;
    case cudaErrorIllegalAddress:
    case cudaErrorMisalignedAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorLaunchTimeout:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
    case cudaErrorNvlinkUncorrectable:
    case cudaErrorContextIsDestroyed:
    case cudaErrorMpsClientTerminated:
      return Errc::device_lost;
    case cudaErrorMemoryAllocation: return Errc::out_of_memory;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorInvalidDevice:
    case cudaErrorDevicesUnavailable:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
      return Errc::no_device;
    case cudaErrorNotSupported:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorInvalidDeviceFunction:
    case cudaErrorSystemNotReady:
      return Errc::unsupported;
    case cudaErrorInvalidValue:
    case cudaErrorInvalidConfiguration:
    case cudaErrorInvalidPitchValue:
    case cudaErrorInvalidDevicePointer:
    case cudaErrorInvalidMemcpyDirection:
    case cudaErrorInvalidResourceHandle:
    case cudaErrorInvalidSymbol:
      return Errc::internal;
    default: return Errc::cuda_error;
  }
}

inline Status to_status(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return {};
  // A failed call also leaves its error as the thread's "last error"; once
  // reported here it is cleared, or the next launch_status would return it
  // for a kernel that launched fine. (Sticky errors stay: the runtime keeps
  // returning them from every call, which is what device_lost says.)
  (void)cudaGetLastError();
  return {errc_for(err), std::string(what) + ": " + cudaGetErrorString(err)};
}

/// Drops the error a call whose failure is not reported left behind (a free,
/// a destroy in a destructor), so that it is not blamed on a later launch.
inline void ignore_error(cudaError_t err) noexcept {
  if (err != cudaSuccess) (void)cudaGetLastError();
}

/// Status of the last kernel launch (launch-configuration errors are synchronous).
/// Every failed call is cleared where it is reported (to_status, ignore_error),
/// so what is left here comes from the launch itself.
inline Status launch_status(const char* kernel) {
  return to_status(cudaGetLastError(), kernel);
}

/// A kernel accesses `v`'s elements through T*: a data pointer or row stride
/// that is not a multiple of the element size would be cudaErrorMisalignedAddress,
/// which is sticky and loses the device, so it is refused before the launch.
inline Status check_aligned(const View& v, const char* role, const char* op) {
  const auto es = static_cast<std::uintptr_t>(v.elem_size());
  bool ok = reinterpret_cast<std::uintptr_t>(v.data) % es == 0;
  for (int d = 0; d < v.ndim; ++d) ok = ok && static_cast<std::uintptr_t>(v.strides[d]) % es == 0;
  if (ok) return {};
  return {Errc::invalid_argument, std::string(op) + ": the " + role + " view (" + v.describe() +
                                      ") is not aligned to its " + std::to_string(es) +
                                      "-byte elements (data pointer or strides)"};
}

/// check_aligned for an op's input and output.
inline Status check_aligned(const View& src, const View& dst, const char* op) {
  TANDEM_TRY(check_aligned(src, "input", op));
  return check_aligned(dst, "output", op);
}

inline cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

/// The entry of an array op's kernels: refuses misaligned views (a misaligned
/// access would lose the device), then calls f(T{}, stream) for src's dtype T.
template <class F>
Status launch_by_dtype(const View& src, const View& dst, void* stream, const char* op, F&& f) {
  TANDEM_TRY(check_aligned(src, dst, op));
  return visit_dtype(src.dtype, [&](auto tag) { return f(tag, as_stream(stream)); });
}

}  // namespace tandem::cuda

#define TANDEM_CUDA_TRY(call) TANDEM_TRY(::tandem::cuda::to_status((call), #call))
