#include "kernels/device_query.hpp"

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdint>
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

// Free memory without a CUDA context: cudaMemGetInfo needs one on the device,
// and making one costs ~300 MB of device memory and a few hundred ms per GPU,
// on every GPU of the machine, for a process (`tandem info`, a run that uses
// one GPU) that may never use most of them. NVML reads it from the driver; it
// ships with the driver, is loaded lazily and declared here by its stable C ABI.
class Nvml {
 public:
  Nvml() {
    lib_ = dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!lib_) return;
    init_ = reinterpret_cast<int (*)()>(dlsym(lib_, "nvmlInit_v2"));
    shutdown_ = reinterpret_cast<int (*)()>(dlsym(lib_, "nvmlShutdown"));
    by_pci_ = reinterpret_cast<int (*)(const char*, void**)>(dlsym(lib_, "nvmlDeviceGetHandleByPciBusId_v2"));
    memory_ = reinterpret_cast<int (*)(void*, Memory*)>(dlsym(lib_, "nvmlDeviceGetMemoryInfo"));
    ok_ = init_ && shutdown_ && by_pci_ && memory_ && init_() == 0;
  }
  ~Nvml() {
    if (ok_) shutdown_();
    if (lib_) dlclose(lib_);
  }
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  // Free bytes of the device at this PCI address, or 0 when NVML cannot tell.
  std::uint64_t free_bytes(const char* pci_bus_id) const {
    void* dev = nullptr;
    Memory m{};
    if (!ok_ || by_pci_(pci_bus_id, &dev) != 0 || memory_(dev, &m) != 0) return 0;
    return m.free;
  }

 private:
  struct Memory {  // nvmlMemory_t
    unsigned long long total, free, used;
  };
  void* lib_ = nullptr;
  int (*init_)() = nullptr;
  int (*shutdown_)() = nullptr;
  int (*by_pci_)(const char*, void**) = nullptr;
  int (*memory_)(void*, Memory*) = nullptr;
  bool ok_ = false;
};

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
  // Properties and attributes come from the driver without a context; only
  // free memory would need one (see Nvml).
  const Nvml nvml;
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
    char bus_id[32] = {};
    if (cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, d) == cudaSuccess) {
      p.memory_free_bytes = nvml.free_bytes(bus_id);
    } else {
      cudaGetLastError();
    }
    out.push_back(std::move(p));
  }
  if (out.empty() && reason) *reason = "CUDA runtime: cudaGetDeviceProperties failed on every device";
  return out;
}

}  // namespace tandem::cuda
