// hwloc-backed machine model shared by the report and the placement plan.
#pragma once

#include <cstddef>

#include "tandem/status.hpp"

namespace tandem {

/// Binds the pages of [ptr, ptr+bytes) to NUMA node `os_index` of this machine.
Status bind_memory_to_numa_node(void* ptr, std::size_t bytes, int os_index);

}  // namespace tandem
