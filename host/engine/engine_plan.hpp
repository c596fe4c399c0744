// What the engine takes from the placement plan: its CPU teams, GPU workers
// and I/O cores, filtered by the run's options (--device, --threads, --gpus).
#pragma once

#include <string>
#include <vector>

#include "tandem/engine.hpp"
#include "tandem/topology.hpp"

namespace tandem {

struct EngineTeam {
  int index = 0;
  int numa_node = -1;                   ///< OS index, -1 if unknown
  std::vector<std::vector<int>> slots;  ///< per thread: the OS PUs it binds to
};

struct EngineGpu {
  int ordinal = 0;
  Device device = Device::cuda(0);  ///< Device::cuda(ordinal), or a sim device in tests
  std::vector<int> pus;  ///< OS PUs of the GPU-local core its feeder thread binds to
  int numa_node = -1;
};

/// A NUMA node that hosts CPU teams or GPU workers, with every PU it has.
struct EngineNode {
  int numa_node = -1;
  std::vector<int> pus;
};

struct EnginePlan {
  std::vector<EngineTeam> teams;
  std::vector<EngineGpu> gpus;
  std::vector<int> io_pus;     ///< the I/O workers' cores: the reader (empty = anywhere)
  /// Where the decoders and encoders run: every PU of the NUMA nodes that host
  /// I/O workers. Codecs are CPU-heavy, so they float over those nodes' cores
  /// rather than crowd onto the one I/O core (empty = anywhere).
  std::vector<int> codec_pus;
  /// Where the decoders run: on each node that computes, so a decoded image is
  /// first touched in the memory of the node whose team (or GPU feeder) will
  /// most likely take it; the work queue prefers same-node items. Empty: the
  /// topology has no NUMA information; decoders run on codec_pus.
  std::vector<EngineNode> compute_nodes;
};

/// Decoder threads per compute node: a quarter of its PUs, 1 to 8, and at
/// least 2 in all (one node) so a slow image never stalls the batch.
int decoders_per_node(const EngineNode& node, std::size_t nodes);

/// Builds the plan for this machine from the hwloc placement plan and the options.
/// Notices (e.g. "no usable GPU; running on the CPU") are appended to `notices`.
Status make_engine_plan(const RunOptions& options, EnginePlan& plan, std::vector<std::string>& notices);

/// The same for any machine: `topo` with these GPUs (`gpu_status` says why there are none).
Status make_engine_plan(const RunOptions& options, const Topology& topo, const std::vector<GpuInfo>& gpus,
                        const std::string& gpu_status, EnginePlan& plan, std::vector<std::string>& notices);

/// Binds the calling thread and the OpenMP team it will run (one thread per
/// slot) to the team's PUs. libgomp keeps a thread's pool, so the binding holds
/// for the parallel regions this thread opens later with the same size.
void bind_team(const EngineTeam& team);

/// Binds the calling thread to these OS PUs; binding is best effort (a
/// container may forbid it), so failure is ignored. Empty: no binding.
void bind_thread_best_effort(const std::vector<int>& pus);

}  // namespace tandem
