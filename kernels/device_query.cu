#include "kernels/device_query.hpp"

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <utility>

namespace tandem::cuda {

namespace {

// cudart reports a missing driver as "insufficient driver"; saying that the
// driver library is not there at all is more useful to whoever reads it.
std::string explain(cudaError_t err) {
  std::string why = std::string("CUDA runtime: ") + cudaGetErrorString(err);
  if (err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice) {
    if (void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
      dlclose(lib);
    } else {
      why += " (the NVIDIA driver library libcuda.so.1 cannot be loaded: no driver is installed)";
    }
  }
  return why;
}

int attribute(cudaDeviceAttr attr, int device) {
  int v = 0;
  if (cudaDeviceGetAttribute(&v, attr, device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return v;
}

}  // namespace

std::vector<DeviceProperties> query_devices(std::string* reason) {
  std::vector<DeviceProperties> out;
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    if (reason) *reason = explain(err);
    cudaGetLastError();  // clear the sticky error so later calls are not confused
    return out;
  }
  if (n == 0) {
    if (reason) *reason = "CUDA runtime: no CUDA-capable device is detected";
    return out;
  }
  int previous = 0;
  const bool had_previous = cudaGetDevice(&previous) == cudaSuccess;
  for (int d = 0; d < n; ++d) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, d) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    DeviceProperties p;
    p.ordinal = d;
    p.name = prop.name;
    p.cc_major = prop.major;
    p.cc_minor = prop.minor;
    p.sm_count = prop.multiProcessorCount;
    p.memory_total_bytes = prop.totalGlobalMem;
    p.memory_bus_width_bits = prop.memoryBusWidth;
    // cudaDeviceProp::memoryClockRate is gone in CUDA 13; the attribute stays.
    p.memory_clock_khz = attribute(cudaDevAttrMemoryClockRate, d);
    p.l2_cache_bytes = prop.l2CacheSize;
    p.pci_domain = prop.pciDomainID;
    p.pci_bus = prop.pciBusID;
    p.pci_device = prop.pciDeviceID;
    std::size_t free_bytes = 0, total_bytes = 0;
    if (cudaSetDevice(d) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      p.memory_free_bytes = free_bytes;
    } else {
      cudaGetLastError();
    }
    out.push_back(std::move(p));
  }
  if (had_previous) cudaSetDevice(previous);
  if (out.empty() && reason) *reason = "CUDA runtime: cudaGetDeviceProperties failed on every device";
  return out;
}

}  // namespace tandem::cuda
