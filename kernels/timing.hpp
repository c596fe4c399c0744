// CUDA events and the GPU roof measurements used by `tandem bench`, declared
// with plain C++ types so host code can call them without cuda_runtime.h.
// Implemented in kernels/timing.cu; only compiled when TANDEM_WITH_CUDA.
#pragma once

#include <cstddef>
#include <string>

#include "tandem/status.hpp"

namespace tandem::cuda {

/// Creates a timing event (cudaEvent_t as an opaque pointer) on `device`.
Status event_create(int device, void** event);
void event_destroy(void* event) noexcept;
Status event_record(void* event, void* stream);
/// Milliseconds between two recorded events (waits for `stop`).
Status event_elapsed_ms(void* start, void* stop, float* ms);

/// Queues a kernel that busy-waits `microseconds` on `stream`. Queued before
/// a start event, it keeps the GPU away from the events while the host
/// enqueues the timed work, so host-side overhead (allocations, launches)
/// does not show up as GPU time.
Status spin(void* stream, double microseconds);

/// The device's name ("NVIDIA H100 80GB HBM3").
Status device_name(int device, std::string* name);

/// Device-to-device cudaMemcpyAsync of `bytes`, best of `repeats`; 2 x bytes counted.
Status roof_d2d_copy(int device, std::size_t bytes, int repeats, double* gbps);
/// Pinned host <-> device copies of `bytes`, best of `repeats`.
Status roof_host_copies(int device, std::size_t bytes, int repeats, double* h2d_gbps,
                        double* d2h_gbps);
/// cuBLAS SGEMM (n x n x n, FP32 math, no TF32), best of `repeats`; 2 n^3 flops.
Status roof_sgemm(int device, int n, int repeats, double* gflops);

}  // namespace tandem::cuda
