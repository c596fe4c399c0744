// CUDA runtime device properties as a plain struct, so host code (the report,
// GPU discovery) can read them without cuda_runtime.h. Implemented in
// kernels/device_query.cu; only compiled when TANDEM_WITH_CUDA.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tandem::cuda {

/// What the CUDA runtime says about one device.
struct DeviceProperties {
  int ordinal = 0;
  std::string name;
  int cc_major = 0;
  int cc_minor = 0;
  int sm_count = 0;
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_free_bytes = 0;  ///< from NVML; 0 when NVML (libnvidia-ml) cannot tell
  int memory_bus_width_bits = 0;
  int memory_clock_khz = 0;             ///< peak memory clock
  int l2_cache_bytes = 0;
  int pci_domain = 0;
  int pci_bus = 0;
  int pci_device = 0;
};

/// Every usable device, in ordinal order. With none, returns an empty list and
/// sets `reason` to a sentence built on the runtime's own error string (and
/// says when the driver library itself is missing). Creates no CUDA context and
/// leaves the current device alone: properties come from the driver, free memory
/// from NVML.
std::vector<DeviceProperties> query_devices(std::string* reason);

}  // namespace tandem::cuda
