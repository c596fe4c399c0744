#include "host/engine/engine_plan.hpp"

#include <algorithm>
#include <omp.h>

#include <set>

#include "host/core/sim_device.hpp"
#include "tandem/placement.hpp"
#include "tandem/topology.hpp"

namespace tandem {

void bind_thread_best_effort(const std::vector<int>& pus) {
  if (!pus.empty()) (void)bind_current_thread(std::span<const int>(pus));
}

void bind_team(const EngineTeam& team) {
  if (team.slots.empty()) return;
  bind_thread_best_effort(team.slots[0]);
  const int n = static_cast<int>(team.slots.size());
#pragma omp parallel num_threads(n)
  {
    const auto t = static_cast<std::size_t>(omp_get_thread_num());
    if (t < team.slots.size()) bind_thread_best_effort(team.slots[t]);
  }
}

int decoders_per_node(const EngineNode& node, std::size_t nodes) {
  const int quarter = static_cast<int>(node.pus.size()) / 4;
  return std::clamp(quarter, nodes > 1 ? 1 : 2, 8);
}

Status make_engine_plan(const RunOptions& o, EnginePlan& out, std::vector<std::string>& notices) {
  // The machine does not change during a process: discover it once.
  static Topology topo;
  static Status loaded = Topology::load_this_machine(topo);
  TANDEM_TRY(loaded);
  if (o.device == DeviceChoice::cpu) return make_engine_plan(o, topo, {}, "not asked for (device = cpu)", out, notices);
  // Simulated devices exist only when a test configured them; they then
  // stand in for the machine's GPUs (placed like GPUs of unknown locality).
  if (const int sims = detail::sim_device_count(); sims > 0) {
    std::vector<GpuInfo> gpus(static_cast<std::size_t>(sims));
    for (int i = 0; i < sims; ++i) {
      gpus[std::size_t(i)].index = i;
      gpus[std::size_t(i)].name = "simulated device";
      gpus[std::size_t(i)].source = "sim";
    }
    TANDEM_TRY(make_engine_plan(o, topo, gpus, std::to_string(sims) + " sim devices", out, notices));
    for (auto& g : out.gpus) g.device = Device::sim(g.ordinal);
    return {};
  }
  GpuScan scan = find_gpus(topo);
  return make_engine_plan(o, topo, scan.gpus, scan.status, out, notices);
}

Status make_engine_plan(const RunOptions& o, const Topology& topo, const std::vector<GpuInfo>& found,
                        const std::string& gpu_status, EnginePlan& out, std::vector<std::string>& notices) {
  std::vector<GpuInfo> gpus;
  if (o.device != DeviceChoice::cpu) {
    struct {
      const std::vector<GpuInfo>& gpus;
      const std::string& status;
    } scan{found, gpu_status};
    if (!o.gpus.empty()) {
      for (int want : o.gpus) {
        auto it = std::find_if(scan.gpus.begin(), scan.gpus.end(), [&](const GpuInfo& g) { return g.index == want; });
        if (it == scan.gpus.end())
          return {Errc::no_device, "gpus: no CUDA device " + std::to_string(want) + " (" + scan.status + ")"};
        gpus.push_back(*it);
      }
    } else {
      gpus = gpus_near_allowed(topo, scan.gpus);  // a process bound to a socket feeds that socket's GPUs
    }
    if (gpus.empty()) {
      if (o.device == DeviceChoice::gpu) return {Errc::no_device, "device = gpu, but " + scan.status};
      // find_gpus' status already reads "no usable GPU: <the runtime's reason>".
      notices.push_back(scan.status + "; running on the CPU");
    }
  }

  const PlacementPlan plan = make_plan(topo, gpus);
  EnginePlan ep;
  if (o.device != DeviceChoice::gpu) {
    for (std::size_t t = 0; t < plan.cpu_teams.size(); ++t) {
      EngineTeam team;
      team.index = static_cast<int>(t);
      team.numa_node = plan.cpu_teams[t].numa_node;
      if (!plan.cpu_teams[t].slots.empty()) ep.teams.push_back(std::move(team));
    }
    // Hand out thread slots round-robin across teams, so --threads N spreads
    // over every NUMA node; 0 means every slot of the plan.
    int budget = o.threads > 0 ? o.threads : plan.cpu_threads();
    std::vector<std::size_t> next(plan.cpu_teams.size(), 0);
    bool any = true;
    while (budget > 0 && any) {
      any = false;
      for (auto& team : ep.teams) {
        const auto& src = plan.cpu_teams[static_cast<std::size_t>(team.index)];
        auto& n = next[static_cast<std::size_t>(team.index)];
        if (budget > 0 && n < src.slots.size()) {
          team.slots.push_back(src.slots[n++]);
          --budget;
          any = true;
        }
      }
    }
    // --threads above the core count: extra threads share cores, round-robin.
    std::vector<std::size_t> own;
    for (const auto& team : ep.teams) own.push_back(team.slots.size());
    for (std::size_t i = 0; budget > 0 && !ep.teams.empty(); ++i, --budget) {
      const std::size_t t = i % ep.teams.size();
      auto& team = ep.teams[t];
      team.slots.push_back(team.slots[(i / ep.teams.size()) % own[t]]);
    }
    std::erase_if(ep.teams, [](const EngineTeam& t) { return t.slots.empty(); });
  }
  for (const auto& w : plan.gpu_workers) {
    EngineGpu g;
    g.ordinal = w.gpu;  // make_plan names GPUs by GpuInfo::index, i.e. the CUDA ordinal
    g.device = Device::cuda(w.gpu);
    g.pus = w.pus;
    g.numa_node = w.numa_node;
    ep.gpus.push_back(std::move(g));
  }
  // The codecs float over whole NUMA nodes, but only over the PUs the process may use.
  const std::vector<int>& allowed = topo.allowed_pus();
  auto allowed_of = [&](const NumaNodeInfo& node) {
    std::vector<int> out;
    for (int pu : node.pus)
      if (std::binary_search(allowed.begin(), allowed.end(), pu)) out.push_back(pu);
    return out;
  };
  std::set<int> io, codec;
  for (const auto& w : plan.io_workers) {
    io.insert(w.pus.begin(), w.pus.end());
    if (const NumaNodeInfo* node = topo.numa_node(w.numa_node)) {
      const std::vector<int> pus = allowed_of(*node);
      codec.insert(pus.begin(), pus.end());
    }
  }
  std::set<int> computing;
  for (const auto& t : ep.teams) computing.insert(t.numa_node);
  for (const auto& g : ep.gpus) computing.insert(g.numa_node);
  for (int n : computing)
    if (const NumaNodeInfo* node = topo.numa_node(n))
      if (std::vector<int> pus = allowed_of(*node); !pus.empty()) ep.compute_nodes.push_back({n, std::move(pus)});
  ep.io_pus.assign(io.begin(), io.end());
  ep.codec_pus.assign(codec.begin(), codec.end());
  out = std::move(ep);
  return {};
}

}  // namespace tandem
