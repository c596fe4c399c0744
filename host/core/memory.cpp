// Host memory: Buffer (host, pinned and device blocks), the reuse cache for
// large host blocks, and NUMA binding of host pages.
#include "host/core/memory.hpp"

#include <hwloc.h>

#include <sys/mman.h>
#include <sys/sysinfo.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "host/core/device_backend.hpp"
#include "tandem/tensor.hpp"

namespace tandem {

void* detail::this_machine_hwloc() {
  static hwloc_topology_t topo = [] {
    hwloc_topology_t t = nullptr;
    hwloc_topology_init(&t);
    hwloc_topology_load(t);
    return t;
  }();
  return topo;
}

Status detail::bind_memory_to_numa(void* ptr, std::size_t bytes, int os_index) {
  auto topo = static_cast<hwloc_topology_t>(this_machine_hwloc());
  hwloc_obj_t node = hwloc_get_numanode_obj_by_os_index(topo, static_cast<unsigned>(os_index));
  if (!node) return {Errc::invalid_argument, "no NUMA node with OS index " + std::to_string(os_index)};
  // Binding is a placement hint; a kernel without mbind support keeps first-touch.
  (void)hwloc_set_area_membind(topo, ptr, bytes, node->nodeset, HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_BYNODESET);
  return {};
}

namespace {
thread_local void* t_alloc_stream = nullptr;
thread_local Device::Kind t_alloc_kind = Device::Kind::cuda;
}

StreamAllocScope::StreamAllocScope(void* stream) noexcept : previous_(t_alloc_stream), previous_kind_(t_alloc_kind) {
  t_alloc_stream = stream;
  t_alloc_kind = Device::Kind::cuda;
}
StreamAllocScope::StreamAllocScope(const Stream& stream) noexcept
    : previous_(t_alloc_stream), previous_kind_(t_alloc_kind) {
  t_alloc_stream = stream.handle();
  t_alloc_kind = stream.location().kind;
}
StreamAllocScope::StreamAllocScope(const Exec& exec) noexcept : previous_(t_alloc_stream), previous_kind_(t_alloc_kind) {
  t_alloc_stream = exec.device.is_cpu() ? nullptr : exec.stream;
  t_alloc_kind = exec.device.kind;
}
StreamAllocScope::~StreamAllocScope() {
  t_alloc_stream = previous_;
  t_alloc_kind = previous_kind_;
}

namespace {

// Large host blocks are kept for reuse. glibc rarely hands a freed image-sized
// block back to the next request of the same size (the alignment slack and the
// small allocations made meanwhile pin it), so every new result would fault in
// all its pages again: 1024 faults, ~2 ms, for a 4 MiB result here, more than
// many kernels take. Blocks are matched by exact size and by the NUMA node of
// the calling CPU (their pages live where they were first touched).
// A small cache of freed blocks for reuse, matched by exact size and a key
// (the NUMA node of the calling CPU for host blocks: their pages live where
// they were first touched; the device for pinned blocks), oldest evicted first.
class BlockCache {
 public:
  using Release = void (*)(void* p, int key) noexcept;
  BlockCache(std::size_t max_blocks, std::size_t max_bytes, Release release)
      : max_blocks_(max_blocks), max_bytes_(max_bytes), release_(release) {}

  void* take(std::size_t bytes, int key) {
    std::lock_guard lock(mu_);
    for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it)
      if (it->bytes == bytes && it->key == key) {
        void* p = it->p;
        total_ -= bytes;
        blocks_.erase(std::next(it).base());
        return p;
      }
    return nullptr;
  }
  void give(void* p, std::size_t bytes, int key) {
    if (bytes > max_bytes_) {
      release_(p, key);
      return;
    }
    std::vector<Block> evicted;
    {
      std::lock_guard lock(mu_);
      blocks_.push_back({p, bytes, key});
      total_ += bytes;
      while (blocks_.size() > max_blocks_ || total_ > max_bytes_) {
        evicted.push_back(blocks_.front());
        total_ -= blocks_.front().bytes;
        blocks_.erase(blocks_.begin());
      }
    }
    for (const Block& e : evicted) release_(e.p, e.key);
  }

 private:
  struct Block {
    void* p;
    std::size_t bytes;
    int key;
  };
  const std::size_t max_blocks_, max_bytes_;
  const Release release_;
  std::mutex mu_;
  std::vector<Block> blocks_;  // oldest first
  std::size_t total_ = 0;
};

int current_node() {
  unsigned cpu = 0, node = 0;
  return ::getcpu(&cpu, &node) == 0 ? static_cast<int>(node) : -1;
}

// Host blocks of 1 MiB or more: at most 8 blocks, 128 MiB.
constexpr std::size_t kHostCacheMinBytes = std::size_t(1) << 20;

// Pinned blocks (staging for device copies): allocating or freeing pinned
// memory synchronises the device, so the feeder's and the decoders' pinned
// buffers are reused: at most 16 blocks, 256 MiB, sizes rounded to 64 KiB so
// images of similar sizes share blocks.
constexpr std::size_t kPinnedRound = std::size_t(64) << 10;
int pinned_key(Device d) { return static_cast<int>(d.kind) * 4096 + d.index; }
Device pinned_device(int key) { return {static_cast<Device::Kind>(key / 4096), key % 4096}; }
std::atomic<std::size_t> g_pinned_allocations{0};

// Never destroyed: Buffers in other static objects may be freed after they would be.
BlockCache& host_blocks() {
  static auto* c = new BlockCache(8, std::size_t(128) << 20, [](void* p, int) noexcept { std::free(p); });
  return *c;
}
BlockCache& pinned_blocks() {
  static auto* c = new BlockCache(16, std::size_t(256) << 20, [](void* p, int key) noexcept {
    if (detail::DeviceBackend* be = detail::backend_for(pinned_device(key))) be->pinned_free(p);
  });
  return *c;
}

// What aligned_alloc is asked for: 64-byte multiples; large blocks in whole 4 KiB pages.
std::size_t host_block_bytes(std::size_t bytes) {
  const std::size_t b = bytes == 0 ? 1 : bytes;
  if (b >= kHostCacheMinBytes) return (b + 4095) / 4096 * 4096;
  return (b + 63) / 64 * 64;
}

// Host blocks of 4 MiB or more start on a 2 MiB boundary and are advised to be backed by
// transparent huge pages (MADV_HUGEPAGE; Debian's default THP mode "madvise" gives them only
// to memory that asks), as NumPy does for its arrays from 4 MiB. With 4 KiB pages every
// 4096-pixel row of a u8 image is a page of its own: a TLB miss, and a restart of the
// hardware prefetchers, which stop at page boundaries. Measured at 1 thread on 4096x4096
// u8 (AMD Zen 4): threshold RGB 3.9-4.9 -> 2.5-2.7 ms, resize 0.37x gray 3.2-3.9 ->
// 2.7-2.8 ms. Where THP is off, madvise fails and the block keeps small pages.
constexpr std::size_t kHugeMinBytes = std::size_t(4) << 20;

void* host_block_alloc(std::size_t rounded) {
  return rounded < kHugeMinBytes ? std::aligned_alloc(64, rounded) : detail::huge_page_alloc(rounded);
}

// Host memory and swap together: a block larger than that can never be backed,
// so it is refused before the allocator is asked (AddressSanitizer's allocator
// aborts on such sizes instead of returning null, and so does an overcommitting
// kernel's OOM killer, later).
std::size_t host_memory_limit() {
  static const std::size_t limit = [] {
    struct sysinfo si {};
    if (sysinfo(&si) != 0) return std::numeric_limits<std::size_t>::max() / 2;
    return static_cast<std::size_t>((std::uint64_t(si.totalram) + si.totalswap) * si.mem_unit);
  }();
  return limit;
}

}  // namespace

void Buffer::Free::operator()(State& m) const noexcept {
  if (!m.data) return;
  if (m.kind == MemKind::host) {
    if (m.reusable) host_blocks().give(m.data, host_block_bytes(m.size), current_node());
    else std::free(m.data);
  } else if (detail::DeviceBackend* be = detail::backend_for(m.device)) {
    if (m.kind == MemKind::pinned) pinned_blocks().give(m.data, (m.size + kPinnedRound - 1) / kPinnedRound * kPinnedRound, pinned_key(m.device));
    else be->device_free(m.data, m.stream);
  }
  m.data = nullptr;
  m.size = 0;
}

void Buffer::reset() noexcept { Free{}(*m_); }

Status Buffer::allocate(std::size_t bytes, MemKind kind, Buffer& out, int device, int numa_node) {
  // A bare ordinal has always meant a CUDA device.
  return allocate(bytes, kind, out, kind == MemKind::host ? Device::cpu() : Device::cuda(device), numa_node);
}

Status Buffer::allocate(std::size_t bytes, MemKind kind, Buffer& out, Device device, int numa_node) {
  Buffer b;
  b.m_->kind = kind;
  b.m_->size = bytes;
  if (kind == MemKind::host) {
    if (bytes > host_memory_limit())
      return {Errc::out_of_memory, "cannot allocate " + std::to_string(bytes) + " bytes of host memory: the machine has " +
                                       std::to_string(host_memory_limit()) + " bytes of memory and swap"};
    // 64-byte alignment for full-width vector loads; aligned_alloc needs a multiple.
    const std::size_t rounded = host_block_bytes(bytes);
    b.m_->reusable = numa_node < 0 && rounded >= kHostCacheMinBytes;
    if (b.m_->reusable) b.m_->data = host_blocks().take(rounded, current_node());
    if (!b.m_->data) b.m_->data = host_block_alloc(rounded);
    if (!b.m_->data)
      return {Errc::out_of_memory, "cannot allocate " + std::to_string(bytes) + " bytes of host memory"};
    if (numa_node >= 0) TANDEM_TRY(detail::bind_memory_to_numa(b.m_->data, rounded, numa_node));
    out = std::move(b);
    return {};
  }
  const char* what = kind == MemKind::pinned ? "pinned" : "device";
  detail::DeviceBackend* be = detail::backend_for(device);
  if (!be) {
    if (device.is_cpu())
      return {Errc::invalid_argument, std::string("cannot allocate ") + what + " memory on the CPU: name a device"};
    return {Errc::unsupported, std::string("cannot allocate ") + what + " memory on " + device.str() + ": " + cuda_status()};
  }
  b.m_->device = device;
  if (kind == MemKind::pinned) {
    const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + kPinnedRound - 1) / kPinnedRound * kPinnedRound;
    b.m_->data = pinned_blocks().take(rounded, pinned_key(device));
    if (!b.m_->data) {
      TANDEM_TRY(be->pinned_malloc(rounded, device.index, &b.m_->data));
      g_pinned_allocations.fetch_add(1);
    }
  } else {
    // The thread's stream-ordered scope applies only to its own kind of device.
    void* stream = t_alloc_kind == device.kind ? t_alloc_stream : nullptr;
    TANDEM_TRY(be->device_malloc(bytes, device.index, stream, &b.m_->data));
    b.m_->stream = stream;
  }
  out = std::move(b);
  return {};
}

std::size_t detail::pinned_allocations() noexcept { return g_pinned_allocations.load(); }

namespace detail {

void* huge_page_alloc(std::size_t bytes) noexcept {
  constexpr std::size_t kHugePageBytes = std::size_t(2) << 20;
  void* p = nullptr;
  if (posix_memalign(&p, kHugePageBytes, bytes) != 0) return nullptr;
#ifdef MADV_HUGEPAGE
  (void)madvise(p, bytes, MADV_HUGEPAGE);  // a hint: failure keeps small pages
#endif
  return p;
}

}  // namespace detail

}  // namespace tandem
