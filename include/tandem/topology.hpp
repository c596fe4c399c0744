/// @file topology.hpp
/// @brief The machine model: host, CPU topology (packages, NUMA nodes, cores,
///        PUs, caches) from hwloc, GPUs with their locality, and thread binding.
///
/// A Topology is loaded from this machine, from an hwloc synthetic description
/// ("pack:2 numa:1 core:4 pu:2") or from an hwloc XML file, so reports and
/// placement plans can be made for a machine other than the one running.
///
/// Numbering used everywhere in tandem:
/// - **cores** are hwloc *logical* indices (0 .. cores-1 in topology order,
///   unique machine-wide; the OS core id repeats across packages on Linux);
/// - **PUs** (hardware threads) are *OS* indices, the numbers the kernel,
///   `taskset`, `numactl` and `OMP_PLACES` use;
/// - **NUMA nodes** are OS indices (`numactl -N`);
/// - **packages** are logical indices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Where a Topology was loaded from.
enum class TopologySource : unsigned char {
  this_machine,  ///< discovered by hwloc on the running machine
  synthetic,     ///< an hwloc synthetic description
  xml,           ///< an hwloc XML file (e.g. written by `lstopo machine.xml`)
};

/// @brief "this machine", "synthetic" or "xml".
const char* topology_source_name(TopologySource source) noexcept;

/// @brief Host identity. Empty strings where the source does not say
///        (synthetic topologies know none of it).
struct HostInfo {
  std::string hostname;
  std::string os_name;       ///< uname sysname, e.g. "Linux"
  std::string os_release;    ///< kernel release, e.g. "6.1.0-18-amd64"
  std::string os_version;    ///< kernel build string
  std::string architecture;  ///< e.g. "x86_64"
  std::string cpu_model;     ///< first package's model, e.g. "Intel(R) Xeon(R) Gold 6338"
};

/// @brief One CPU package (socket).
struct PackageInfo {
  int index = 0;     ///< logical index
  int os_index = -1; ///< OS socket id (-1 when unknown)
  std::string cpu_model;
  std::vector<int> cores;       ///< logical core indices
  std::vector<int> numa_nodes;  ///< OS indices of the NUMA nodes inside it
  int pus = 0;
};

/// @brief One NUMA node (a memory controller's local memory).
struct NumaNodeInfo {
  int os_index = 0;
  int package = -1;  ///< logical package containing it; -1 when it spans packages or has no CPUs
  std::uint64_t local_memory_bytes = 0;
  std::vector<int> cores;  ///< logical indices of the cores assigned to it (see Topology)
  std::vector<int> pus;    ///< OS indices of its local PUs (its hwloc cpuset)
};

/// @brief One physical core.
struct CoreInfo {
  int index = 0;      ///< logical index (position in Topology::cores())
  int os_index = -1;  ///< OS core id (not unique across packages)
  int package = -1;   ///< logical package index
  int numa_node = -1; ///< OS index of the NUMA node it is assigned to
  std::vector<int> pus;  ///< OS indices of its hardware threads
};

/// @brief One kind of CPU cache: caches with the same level, type, size and
///        sharing are counted together.
struct CacheInfo {
  int level = 1;
  std::string type;  ///< "data", "instruction" or "unified"
  std::uint64_t size_bytes = 0;
  int line_size = 0;       ///< bytes; 0 when unknown
  int count = 0;           ///< how many such caches the machine has
  int cores_sharing = 0;   ///< cores sharing each one
};

/// @brief One GPU: properties (from the CUDA runtime, or whatever a topology
///        file records) and locality. Numbers the source does not know are 0.
struct GpuInfo {
  int index = 0;  ///< CUDA device ordinal (or position in a topology file's cudaN order)
  std::string name;
  int cc_major = 0;  ///< compute capability; 0 when unknown
  int cc_minor = 0;
  int sm_count = 0;
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_free_bytes = 0;
  int memory_bus_width_bits = 0;
  int memory_clock_khz = 0;     ///< peak memory clock
  std::string pci_bus_id;       ///< "0000:41:00.0"; empty when unknown
  int numa_node = -1;           ///< OS index of the NUMA node it is attached to; -1 when unknown
  std::vector<int> local_pus;   ///< OS indices of the PUs near it (empty when unknown)
  std::string source;           ///< "cuda-runtime" or "topology"

  /// @brief Theoretical memory bandwidth, bytes/s (2 transfers per clock x bus width);
  ///        0 when the clock or the width is unknown.
  [[nodiscard]] double memory_bandwidth_bytes_per_s() const noexcept;
};

/// @brief Where a PCI device sits: its NUMA node and the PUs near it.
struct PciLocality {
  bool found = false;     ///< the bus id is a PCI device of the topology
  int numa_node = -1;     ///< -1 when not one well-defined node
  std::vector<int> pus;   ///< OS PUs of its closest non-I/O ancestor
};

/// @brief A loaded hwloc topology, summarised into plain structs.
///
/// Immutable once loaded; copies share the same hwloc topology, and all
/// const members are safe to call from several threads.
///
/// Cores are assigned to NUMA nodes by this rule: a core belongs to the first
/// NUMA node (in OS index order) whose cpuset contains the core. CPU-less
/// nodes (HBM, CXL memory) therefore get no cores.
class Topology {
 public:
  Topology();
  ~Topology();
  Topology(const Topology&);
  Topology& operator=(const Topology&);
  Topology(Topology&&) noexcept;
  Topology& operator=(Topology&&) noexcept;

  /// @brief Discovers this machine (CPUs, NUMA nodes, caches and PCI devices,
  ///        without GPU-vendor plugins, so it stays fast).
  static Status load_this_machine(Topology& out);
  /// @brief Builds a topology from an hwloc synthetic description, e.g.
  ///        "pack:2 numa:1 l3:1 core:8 pu:2". No I/O devices, hence no GPUs.
  static Status load_synthetic(std::string_view description, Topology& out);
  /// @brief Loads an hwloc v2 XML file (keeps its PCI and OS devices).
  static Status load_xml(const std::string& path, Topology& out);

  [[nodiscard]] bool loaded() const noexcept { return impl_ != nullptr; }
  [[nodiscard]] TopologySource source() const noexcept;
  /// @brief "this machine", the synthetic description, or the XML path.
  [[nodiscard]] const std::string& origin() const;
  [[nodiscard]] const HostInfo& host() const;
  [[nodiscard]] const std::vector<PackageInfo>& packages() const;
  [[nodiscard]] const std::vector<NumaNodeInfo>& numa_nodes() const;
  [[nodiscard]] const std::vector<CoreInfo>& cores() const;
  [[nodiscard]] const std::vector<CacheInfo>& caches() const;
  [[nodiscard]] int pu_count() const;
  /// @brief The NUMA node with this OS index, or nullptr.
  [[nodiscard]] const NumaNodeInfo* numa_node(int os_index) const;
  /// @brief The core with this logical index, or nullptr.
  [[nodiscard]] const CoreInfo* core(int index) const;

  /// @brief Locality of the PCI device with bus id "dddd:bb:dd.f" (or "bb:dd.f").
  [[nodiscard]] PciLocality pci_locality(std::string_view bus_id) const;
  /// @brief NVIDIA GPUs recorded in the topology itself: PCI devices of vendor
  ///        0x10de and class 0x0300/0x0302, plus CUDA OS devices ("cuda0")
  ///        not under a PCI device. Empty for this machine (hwloc's GPU plugins
  ///        are not loaded; see find_gpus) and for synthetic topologies.
  [[nodiscard]] std::vector<GpuInfo> topology_gpus() const;
  /// @brief The underlying hwloc_topology_t (for advanced use; do not modify).
  [[nodiscard]] void* native_handle() const noexcept;

  /// @brief The OS indices of the PUs this process may run on, ascending:
  ///        placement plans use only these. For this machine, the binding the
  ///        process was started with (taskset, numactl, mpirun --bind-to,
  ///        a Slurm cpuset) as hwloc_get_cpubind reads it when the topology
  ///        is loaded, within the topology's allowed cpuset; for a synthetic or
  ///        XML topology, every PU unless restrict_to() narrowed it.
  [[nodiscard]] const std::vector<int>& allowed_pus() const noexcept { return allowed_; }
  /// @brief True when allowed_pus() is not every PU of the machine.
  [[nodiscard]] bool restricted() const noexcept;
  /// @brief Narrows allowed_pus() to `pus` (OS indices), as if the process had
  ///        been bound to them: plans for one rank of a bigger machine. An error
  ///        (and no change) when a PU is not in allowed_pus() or `pus` is empty.
  Status restrict_to(std::span<const int> pus);

 private:
  // Hidden despite the visibility push above: the implementation and its
  // helpers are not part of the exported API (tests/check_exports.cmake).
  struct __attribute__((visibility("hidden"))) Impl;
  /// Takes ownership of a loaded hwloc_topology_t and summarises it.
  __attribute__((visibility("hidden"))) static Status adopt(void* hwloc_topology, TopologySource source, std::string origin, Topology& out);
  std::shared_ptr<const Impl> impl_;
  std::vector<int> allowed_;  // per copy: restrict_to() narrows one copy only
};

/// @brief The GPUs of a machine and, when there are none, why.
struct GpuScan {
  std::vector<GpuInfo> gpus;
  std::string status;  ///< a sentence: "2 CUDA devices" or the reason there are none
};

/// @brief The GPUs of the machine `topo` describes. For this machine: the CUDA
///        runtime's devices (none without a CUDA build, a driver or a GPU; the
///        status then carries the runtime's error string), located with `topo`
///        by PCI bus id. For a topology file: topology_gpus().
GpuScan find_gpus(const Topology& topo);

/// @brief Binds the calling thread to the PUs with these OS indices on this
///        machine (hwloc_set_cpubind, HWLOC_CPUBIND_THREAD).
Status bind_current_thread(std::span<const int> pus);
/// @brief The OS indices of the PUs the calling thread may run on.
Status current_thread_pus(std::vector<int>& pus);
/// @brief Binds the pages of [ptr, ptr+bytes) to NUMA node `os_index` of this
///        machine. A kernel without mbind support keeps first-touch; that is not an error.
Status bind_memory_to_numa_node(void* ptr, std::size_t bytes, int os_index);

/// @brief Compact list of sorted ids: {0,1,2,3,8,10,11} -> "0-3,8,10-11"; {} -> "".
std::string format_id_list(std::span<const int> ids);
/// @brief The inverse of format_id_list, as taskset -c takes lists: "0-3,8,10-11"
///        -> {0,1,2,3,8,10,11} (sorted, without repeats). An error naming the
///        text for anything else (empty, negative, a range that runs backwards).
Status parse_id_list(std::string_view text, std::vector<int>& ids);

}  // namespace tandem

#pragma GCC visibility pop
