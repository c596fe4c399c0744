// hwloc-backed machine model shared by the report and the placement plan.
// The public API is include/tandem/topology.hpp; this header adds what only
// the library's own files need.
#pragma once

#include <cstddef>

#include "tandem/status.hpp"
#include "tandem/topology.hpp"

namespace tandem::detail {

/// This machine's hwloc topology (CPUs and NUMA nodes only, no I/O), loaded
/// once on first use; the handle is a hwloc_topology_t. Used for binding.
void* this_machine_hwloc();

}  // namespace tandem::detail
