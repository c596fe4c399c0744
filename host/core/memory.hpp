// Host memory internals shared by core, platform and the ops: this machine's
// hwloc handle, NUMA binding of host pages, huge-page host blocks.
#pragma once

#include <cstddef>

#include "tandem/status.hpp"

namespace tandem::detail {

/// This machine's hwloc topology (CPUs and NUMA nodes only, no I/O), loaded
/// once on first use; the handle is a hwloc_topology_t.
void* this_machine_hwloc();

/// Binds [ptr, ptr+bytes) to NUMA node `os_index` (a hint: a kernel without
/// mbind keeps first-touch, which is not an error).
Status bind_memory_to_numa(void* ptr, std::size_t bytes, int os_index);

/// `bytes` of host memory starting on a 2 MiB boundary and advised to be backed
/// by transparent huge pages (MADV_HUGEPAGE: a hint, small pages where THP is
/// off); freed with std::free; null when out of memory.
void* huge_page_alloc(std::size_t bytes) noexcept;

/// Pinned blocks this process has allocated from a backend (reused ones not
/// counted): what tests read to see that staging memory is reused.
std::size_t pinned_allocations() noexcept;

}  // namespace tandem::detail
