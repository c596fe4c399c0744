// The CUDA runtime calls tandem makes outside kernels, declared with plain C++
// types so host code can call them without cuda_runtime.h. Implemented in
// kernels/runtime.cu; only compiled when TANDEM_WITH_CUDA.
#pragma once

#include <cstddef>
#include <string>

#include "tandem/status.hpp"

namespace tandem::detail {
class DeviceBackend;
}

namespace tandem::cuda {

/// The DeviceBackend over these calls (backend_for(Device::cuda(i)) returns it).
detail::DeviceBackend* backend() noexcept;

/// Number of usable devices; on 0, `reason` gets the runtime's error string.
int device_count(std::string* reason) noexcept;

/// A non-blocking stream; the first on a device also sets its memory pool's release threshold.
Status stream_create(int device, void** stream);
void stream_destroy(void* stream) noexcept;
Status stream_synchronize(void* stream);

Status device_malloc(std::size_t bytes, int device, void** out);
void device_free(void* ptr) noexcept;
/// Stream-ordered allocation (cudaMallocAsync from the device's default pool).
Status device_malloc_async(std::size_t bytes, int device, void* stream, void** out);
void device_free_async(void* ptr, void* stream) noexcept;
/// Calls fn(data) on a runtime thread once all work queued on `stream` so far is done.
Status host_callback(void* stream, void (*fn)(void*), void* data);
Status pinned_malloc(std::size_t bytes, void** out);
void pinned_free(void* ptr) noexcept;

/// Copy of `bytes` between any host/device pointers (cudaMemcpyDefault) queued on `stream`.
Status memcpy_1d(void* dst, const void* src, std::size_t bytes, void* stream);

/// 2-D copy between any host/device pointers (cudaMemcpyDefault) queued on `stream`.
Status memcpy_2d(void* dst, std::size_t dpitch, const void* src, std::size_t spitch,
                 std::size_t width_bytes, std::size_t rows, void* stream);

}  // namespace tandem::cuda
