#include "host/topology.hpp"

#include <hwloc.h>

#include <mutex>
#include <string>

namespace tandem {

namespace {
hwloc_topology_t this_machine() {
  static hwloc_topology_t topo = [] {
    hwloc_topology_t t = nullptr;
    hwloc_topology_init(&t);
    hwloc_topology_load(t);
    return t;
  }();
  return topo;
}
}  // namespace

Status bind_memory_to_numa_node(void* ptr, std::size_t bytes, int os_index) {
  hwloc_topology_t topo = this_machine();
  hwloc_obj_t node = hwloc_get_numanode_obj_by_os_index(topo, static_cast<unsigned>(os_index));
  if (!node) return {Errc::invalid_argument, "no NUMA node with OS index " + std::to_string(os_index)};
  if (hwloc_set_area_membind(topo, ptr, bytes, node->nodeset, HWLOC_MEMBIND_BIND,
                             HWLOC_MEMBIND_BYNODESET) != 0) {
    // Binding is a placement hint; a kernel without mbind support keeps first-touch.
    return {};
  }
  return {};
}

}  // namespace tandem
