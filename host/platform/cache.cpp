// The shared cache size behind the point ops' store choice: an output that
// fits in the cache next to its input is written with plain stores and stays
// there for the next op (and the next call); a larger one streams past the
// cache. hwloc reads it from the OS (sysfs on Linux), per cache instance: a
// 32 MiB L3 per 8-core CCX on AMD Zen, where glibc's sysconf reports the sum
// over the package.
#include "host/platform/cache.hpp"

#include <hwloc.h>

#include <atomic>

namespace tandem::detail {

namespace {
std::atomic<std::size_t> g_override{0};
}  // namespace

void set_shared_cache_bytes(std::size_t bytes) noexcept { g_override.store(bytes, std::memory_order_relaxed); }

std::size_t shared_cache_bytes() noexcept {
  if (const std::size_t o = g_override.load(std::memory_order_relaxed)) return o;
  constexpr std::size_t kUnknown = std::size_t(32) << 20;
  static const std::size_t bytes = [] {
    hwloc_topology_t t = nullptr;
    if (hwloc_topology_init(&t) != 0) return kUnknown;
    hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_NONE);
    hwloc_topology_set_icache_types_filter(t, HWLOC_TYPE_FILTER_KEEP_NONE);
    std::size_t best = 0;
    if (hwloc_topology_load(t) == 0) {
      hwloc_obj_t pu = hwloc_get_next_obj_inside_cpuset_by_type(t, hwloc_topology_get_allowed_cpuset(t), HWLOC_OBJ_PU, nullptr);
      for (hwloc_obj_t o = pu; o; o = o->parent)
        if (hwloc_obj_type_is_dcache(o->type) && o->attr->cache.size > best) best = std::size_t(o->attr->cache.size);
    }
    hwloc_topology_destroy(t);
    return best ? best : kUnknown;
  }();
  return bytes;
}

}  // namespace tandem::detail
