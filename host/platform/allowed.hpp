// The PUs a process may run on: read from this machine's binding when the
// topology is loaded (host/platform/allowed.cpp).
#pragma once

#include <vector>

#include "tandem/status.hpp"

namespace tandem::detail {

/// Narrows `allowed` (every PU of the topology, ascending) to the PUs the
/// process is bound to, within the topology's allowed cpuset. A binding that
/// cannot be read (a kernel or container that refuses) leaves `allowed` whole.
Status read_process_binding(void* hwloc_topology, std::vector<int>& allowed);

}  // namespace tandem::detail
