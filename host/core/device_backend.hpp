// The one interface through which tandem uses a device: streams, host
// callbacks, async copies, pinned and device memory, launching work, and what
// an error means for the device. Two backends implement it:
//   - cuda (kernels/runtime.cu): the CUDA runtime;
//   - sim  (host/core/sim_device.cpp): a simulated device on the CPU for tests
//     (device memory is host memory, a stream is an in-order worker thread,
//     copies are memcpy at a modelled bandwidth and latency, a launch runs the
//     op's CPU implementation, and faults can be injected; tests configure it
//     through host/core/sim_device.hpp).
// Core code (Buffer, copy, Stream) and the ops' dispatch reach a backend only
// through backend_for(device); nothing above core names CUDA runtime calls.
#pragma once

#include <cstddef>
#include <functional>

#include "tandem/device.hpp"
#include "tandem/status.hpp"

namespace tandem::detail {

class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;

  /// "cuda" or "sim".
  [[nodiscard]] virtual const char* name() const noexcept = 0;

  virtual Status stream_create(int device, void** stream) = 0;
  virtual void stream_destroy(void* stream) noexcept = 0;
  /// Waits for everything queued on `stream`; reports (and clears, where the
  /// error is recoverable) the first error of the work it waited for.
  virtual Status stream_synchronize(void* stream) = 0;
  /// Calls fn(data) once all work queued on `stream` so far is done.
  virtual Status host_callback(void* stream, void (*fn)(void*), void* data) = 0;

  /// Device memory; stream-ordered when `stream` is not null (freed on the same stream).
  virtual Status device_malloc(std::size_t bytes, int device, void* stream, void** out) = 0;
  virtual void device_free(void* ptr, void* stream) noexcept = 0;
  /// Page-locked host memory that the device copies from and to at full speed.
  virtual Status pinned_malloc(std::size_t bytes, int device, void** out) = 0;
  virtual void pinned_free(void* ptr) noexcept = 0;

  /// A 2-D copy (rows of width_bytes) between any host/device pointers,
  /// queued on `stream` (nullptr: synchronous).
  virtual Status memcpy_2d(void* dst, std::size_t dpitch, const void* src, std::size_t spitch,
                           std::size_t width_bytes, std::size_t rows, void* stream) = 0;

  /// Queues `work` on `stream` in stream order. The sim backend runs it on
  /// the stream's worker (an op's CPU implementation over device memory that
  /// is host memory) and reports its Status at the next stream_synchronize;
  /// the CUDA backend calls it at once on the calling thread (the work queues
  /// its own kernels on `stream`) and returns its Status.
  virtual Status launch(void* stream, std::function<Status()> work) = 0;
};

/// The backend of a non-CPU device, or nullptr for the CPU (and for CUDA in
/// a build without it).
DeviceBackend* backend_for(Device device) noexcept;

/// True when `s` means the device is unusable from now on (a sticky error:
/// illegal or misaligned address, launch failure, a poisoned sim device):
/// the feeder retires that device's worker instead of retrying on it.
[[nodiscard]] inline bool is_sticky(const Status& s) noexcept { return s.code() == Errc::device_lost; }

/// True when the failed work may be tried again on the same device: a
/// recoverable device error, or out of memory (once memory is released).
/// device_lost, no_device, unsupported, internal and argument errors are not
/// retried (kernels/cuda_check.cuh says which CUDA errors map to which).
[[nodiscard]] inline bool is_retryable(const Status& s) noexcept {
  return s.code() == Errc::cuda_error || s.code() == Errc::out_of_memory;
}

}  // namespace tandem::detail
