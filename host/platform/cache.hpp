// The cache the calling core shares with its neighbours (host/platform/cache.cpp).
#pragma once

#include <cstddef>

namespace tandem::detail {

/// Bytes of the largest data cache above the first core the process may run
/// on (the L3 of a Zen CCX or a Xeon socket, the SLC-less L2 of some Arm
/// cores), read once from hwloc; 32 MiB when hwloc cannot say; what
/// set_shared_cache_bytes set instead, while it is set.
std::size_t shared_cache_bytes() noexcept;

/// Makes shared_cache_bytes() return `bytes` (0: what hwloc says again), so
/// tests take the paths of a machine with a smaller or larger cache.
void set_shared_cache_bytes(std::size_t bytes) noexcept;

}  // namespace tandem::detail
