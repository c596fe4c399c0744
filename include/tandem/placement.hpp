/// @file placement.hpp
/// @brief Where tandem's threads run: one CPU worker team per NUMA node, one
///        GPU feeder thread per GPU on a core local to its GPU, and the I/O
///        threads. Made once from a Topology and the GPU list; the pipeline
///        binds its threads with bind_current_thread().
///
/// The rules (also in docs/info.md):
/// 0. **Allowed PUs.** Only the PUs of Topology::allowed_pus() (the binding the
///    process was started with) are used: a core with none of them is in no
///    team and hosts no worker; a core with some keeps only those. A NUMA node
///    or package without such a core has no team and no I/O worker.
/// 1. **CPU teams.** One team per NUMA node that has cores; it owns the node's
///    cores. A team runs one thread per core (`smt=false`, default: SMT
///    siblings of a compute thread mostly compete for the same FPU and cache)
///    or one per PU (`smt=true`). Thread i is bound to `slots[i]`.
/// 2. **GPU workers**, in GPU order. Each GPU gets a feeder thread on its
///    NUMA node (the node hwloc says the GPU is attached to; unknown or
///    CPU-less: the node whose team has the most cores left, lowest OS index
///    on ties). The feeder takes the node's highest-numbered team core that no
///    feeder has yet, and that core leaves the team if the team keeps at least
///    one core (`dedicated_gpu_cores`, default on), so the feeder never
///    competes with compute threads. When the team is down to one core, the
///    feeder shares a core: the node's feeder core with the fewest feeders, or,
///    if the node has none, the team's last core.
/// 3. **I/O workers.** One per package (default), per NUMA node, or none. Each
///    goes on the lowest-numbered core of its package / node that is not a
///    GPU feeder core (feeders take cores from the top, I/O from the bottom).
///    The core stays in its CPU team (I/O threads mostly wait on the disk)
///    unless `dedicated_io_cores` is set and the team keeps at least one core.
/// No core is in two teams; a core is shared only where the rules above say
/// so, and the worker records it (`dedicated == false`) with a note.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/topology.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief How many I/O workers the plan places.
enum class IoPlacement : unsigned char {
  per_package,    ///< one per package with cores
  per_numa_node,  ///< one per NUMA node with cores
  none,           ///< no I/O workers (the pipeline's I/O threads stay unbound)
};

/// @brief "package", "numa" or "none".
const char* io_placement_name(IoPlacement p) noexcept;
/// @brief Parses "package", "numa" or "none".
std::optional<IoPlacement> parse_io_placement(std::string_view name) noexcept;

/// @brief Knobs of make_plan().
struct PlacementOptions {
  bool smt = false;                 ///< CPU teams run one thread per PU instead of per core
  bool dedicated_gpu_cores = true;  ///< take feeder cores out of CPU teams (team keeps >= 1 core)
  IoPlacement io = IoPlacement::per_package;
  bool dedicated_io_cores = false;  ///< take I/O cores out of CPU teams (team keeps >= 1 core)
};

/// @brief The CPU workers of one NUMA node.
struct CpuTeam {
  int numa_node = -1;     ///< OS index of the node (its memory is local to the team)
  int package = -1;       ///< logical package index (-1 when the node spans packages)
  std::vector<int> cores; ///< logical core indices, ascending
  std::vector<int> pus;   ///< OS indices of all PUs of those cores, ascending
  int threads = 0;        ///< worker threads = slots.size()
  /// PUs each thread binds to: one core's PUs per thread (smt=false), one PU (smt=true).
  std::vector<std::vector<int>> slots;
};

/// @brief The feeder thread of one GPU (uploads, launches, downloads).
struct GpuWorker {
  int gpu = 0;            ///< GpuInfo::index of its GPU (gpu_workers[i] serves gpus[i])
  int numa_node = -1;     ///< OS index of the node it runs on
  int core = -1;          ///< logical index of its core
  std::vector<int> pus;   ///< OS indices of that core's PUs (bind here)
  bool dedicated = true;  ///< false: the core is shared (see PlacementPlan::notes)
};

/// @brief One I/O thread (reads inputs, writes outputs).
struct IoWorker {
  int package = -1;        ///< logical package index it serves (-1: none / whole machine)
  int numa_node = -1;      ///< OS index of the node its core is on
  int core = -1;           ///< logical index of its core
  std::vector<int> pus;    ///< OS indices of that core's PUs (bind here)
  bool dedicated = false;  ///< true: the core was taken out of its CPU team
};

/// @brief The whole placement.
struct PlacementPlan {
  PlacementOptions options;
  std::vector<CpuTeam> cpu_teams;      ///< in NUMA node OS index order
  std::vector<GpuWorker> gpu_workers;  ///< in GPU order
  std::vector<IoWorker> io_workers;
  std::vector<std::string> notes;      ///< why a worker shares a core, where locality was unknown

  /// @brief Sum of the CPU teams' threads.
  [[nodiscard]] int cpu_threads() const noexcept;
};

/// @brief Places the CPU teams, one feeder per GPU of `gpus` and the I/O
///        workers on `topo` by the rules in this header. Deterministic; never
///        fails (a topology with no cores gives an empty plan).
PlacementPlan make_plan(const Topology& topo, const std::vector<GpuInfo>& gpus,
                        const PlacementOptions& options = {});

/// @brief The GPUs a process bound to topo.allowed_pus() feeds, nearest
///        first: when the topology is restricted, those whose local PUs are
///        allowed (a rank bound to a socket takes its socket's GPUs); if none,
///        those on a package with allowed PUs; if none, all. Unrestricted: all.
std::vector<GpuInfo> gpus_near_allowed(const Topology& topo, const std::vector<GpuInfo>& gpus);

/// @brief The GPUs of the `index`-th of `peers` processes that share one
///        binding (two MPI ranks bound to the same socket), so they do not feed
///        the same GPUs: GPUs index, index + peers, ...; with fewer GPUs than
///        peers, GPU index % count alone. All of `gpus` when peers <= 1.
std::vector<GpuInfo> gpus_for_peer(const std::vector<GpuInfo>& gpus, int index, int peers);

}  // namespace tandem

#pragma GCC visibility pop
