// The placement plan: CPU teams per NUMA node, GPU feeders near their GPU,
// I/O threads per package or node. The rules are in include/tandem/placement.hpp
// and docs/info.md; this file implements them in that order.
#include "tandem/placement.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

namespace tandem {

namespace {
// Each placement and its name on the command line and in reports.
constexpr std::pair<IoPlacement, const char*> kIoPlacementNames[] = {
    {IoPlacement::per_package, "package"}, {IoPlacement::per_numa_node, "numa"}, {IoPlacement::none, "none"}};
}  // namespace

const char* io_placement_name(IoPlacement p) noexcept {
  for (const auto& [value, name] : kIoPlacementNames)
    if (value == p) return name;
  return "unknown";
}

std::optional<IoPlacement> parse_io_placement(std::string_view name) noexcept {
  for (const auto& [value, spelled] : kIoPlacementNames)
    if (name == spelled) return value;
  return std::nullopt;
}

int PlacementPlan::cpu_threads() const noexcept {
  int n = 0;
  for (const CpuTeam& t : cpu_teams) n += t.threads;
  return n;
}

namespace {

std::string node_name(int numa_node) {
  return numa_node >= 0 ? "NUMA node " + std::to_string(numa_node) : "the cores outside any NUMA node";
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

void erase_value(std::vector<int>& v, int x) { v.erase(std::remove(v.begin(), v.end(), x), v.end()); }

}  // namespace

PlacementPlan make_plan(const Topology& topo, const std::vector<GpuInfo>& gpus, const PlacementOptions& options) {
  PlacementPlan plan;
  plan.options = options;
  // Rule 0: only the PUs the process may run on. A core keeps its allowed PUs;
  // a core with none is left out of every team and worker.
  std::vector<CoreInfo> cores = topo.cores();
  const std::vector<int>& allowed = topo.allowed_pus();
  for (CoreInfo& c : cores)
    std::erase_if(c.pus, [&](int pu) { return !std::binary_search(allowed.begin(), allowed.end(), pu); });
  auto usable = [&](const std::vector<int>& ids) {
    std::vector<int> out;
    for (int c : ids)
      if (!cores[static_cast<std::size_t>(c)].pus.empty()) out.push_back(c);
    return out;
  };
  if (std::all_of(cores.begin(), cores.end(), [](const CoreInfo& c) { return c.pus.empty(); })) return plan;

  // Rule 1: one team per NUMA node with cores (nodes are in OS index order).
  std::map<int, std::size_t> team_of_node;
  auto package_of_cores = [&](const std::vector<int>& ids) {
    int pkg = -2;
    for (int c : ids) {
      const int p = cores[static_cast<std::size_t>(c)].package;
      if (pkg == -2) pkg = p;
      else if (pkg != p) return -1;
    }
    return pkg == -2 ? -1 : pkg;
  };
  for (const NumaNodeInfo& node : topo.numa_nodes()) {
    std::vector<int> own = usable(node.cores);
    if (own.empty()) continue;
    CpuTeam team;
    team.numa_node = node.os_index;
    team.cores = std::move(own);
    team.package = package_of_cores(team.cores);
    team_of_node[node.os_index] = plan.cpu_teams.size();
    plan.cpu_teams.push_back(std::move(team));
  }
  {
    // Cores no NUMA node contains (a topology without NUMA information).
    CpuTeam orphans;
    for (const CoreInfo& c : cores)
      if (c.numa_node < 0 && !c.pus.empty()) orphans.cores.push_back(c.index);
    if (!orphans.cores.empty()) {
      orphans.package = package_of_cores(orphans.cores);
      team_of_node[-1] = plan.cpu_teams.size();
      plan.cpu_teams.push_back(std::move(orphans));
    }
  }
  // The cores each node started with (teams shrink as workers take cores).
  std::map<int, std::vector<int>> node_cores;
  for (const CpuTeam& t : plan.cpu_teams) node_cores[t.numa_node] = t.cores;

  // Rule 2: GPU feeders.
  std::map<int, int> feeders_on_core;  // core -> number of GPU workers on it
  std::map<int, int> first_feeder;     // core -> the GPU that took it first
  for (const GpuInfo& gpu : gpus) {
    GpuWorker w;
    w.gpu = gpu.index;
    auto it = gpu.numa_node >= 0 ? team_of_node.find(gpu.numa_node) : team_of_node.end();
    if (it == team_of_node.end()) {
      // Unknown or CPU-less node: the team with the most cores left (first on ties).
      std::size_t best = 0;
      for (std::size_t i = 1; i < plan.cpu_teams.size(); ++i)
        if (plan.cpu_teams[i].cores.size() > plan.cpu_teams[best].cores.size()) best = i;
      it = team_of_node.find(plan.cpu_teams[best].numa_node);
      plan.notes.push_back("GPU " + std::to_string(gpu.index) + ": " +
                           (gpu.numa_node < 0 ? std::string("locality unknown")
                                              : "NUMA node " + std::to_string(gpu.numa_node) +
                                                    (topo.restricted() ? " has no allowed cores" : " has no cores")) +
                           "; its worker goes to " + node_name(it->first) + " (most cores left)");
    }
    CpuTeam& team = plan.cpu_teams[it->second];
    w.numa_node = team.numa_node;

    int spare = -1;  // the highest team core no feeder has yet
    for (auto c = team.cores.rbegin(); c != team.cores.rend(); ++c) {
      if (feeders_on_core[*c] == 0) {
        spare = *c;
        break;
      }
    }
    if (spare >= 0 && (!options.dedicated_gpu_cores || team.cores.size() > 1)) {
      w.core = spare;
      if (options.dedicated_gpu_cores) {
        erase_value(team.cores, spare);
        w.dedicated = true;
      } else {
        w.dedicated = false;
        plan.notes.push_back("GPU " + std::to_string(gpu.index) + " shares core " + std::to_string(spare) +
                             " with the CPU team of " + node_name(team.numa_node) +
                             " (dedicated GPU cores are off)");
      }
    } else {
      // No spare core: share the node's least-loaded feeder core, else the team's last core.
      int best = -1;
      for (int c : node_cores[team.numa_node]) {
        const int n = feeders_on_core[c];
        if (n > 0 && (best < 0 || n < feeders_on_core[best])) best = c;
      }
      w.dedicated = false;
      if (best >= 0) {
        w.core = best;
        plan.notes.push_back("GPU " + std::to_string(gpu.index) + " shares core " + std::to_string(best) +
                             " with GPU " + std::to_string(first_feeder[best]) + ": " +
                             node_name(team.numa_node) + " has no spare core");
      } else {
        w.core = team.cores.back();
        plan.notes.push_back("GPU " + std::to_string(gpu.index) + " shares core " + std::to_string(w.core) +
                             " with the CPU team: " + node_name(team.numa_node) + " has a single core");
      }
    }
    if (feeders_on_core[w.core]++ == 0) first_feeder[w.core] = gpu.index;
    w.pus = cores[static_cast<std::size_t>(w.core)].pus;
    plan.gpu_workers.push_back(std::move(w));
  }

  // Rule 3: I/O workers, on the lowest core of each package / node that no feeder has.
  std::vector<std::pair<int, std::vector<int>>> io_groups;  // (package, cores)
  if (options.io == IoPlacement::per_package) {
    for (const PackageInfo& p : topo.packages())
      if (auto own = usable(p.cores); !own.empty()) io_groups.emplace_back(p.index, std::move(own));
    if (io_groups.empty()) {
      std::vector<int> all;
      for (const CoreInfo& c : cores) all.push_back(c.index);
      io_groups.emplace_back(-1, usable(all));
    }
  } else if (options.io == IoPlacement::per_numa_node) {
    for (const auto& [node, ids] : node_cores) io_groups.emplace_back(package_of_cores(ids), ids);
  }
  for (auto& [package, ids] : io_groups) {
    std::sort(ids.begin(), ids.end());
    IoWorker io;
    io.package = package;
    io.core = ids.front();
    for (int c : ids) {
      if (feeders_on_core[c] == 0) {
        io.core = c;
        break;
      }
    }
    const CoreInfo& core = cores[static_cast<std::size_t>(io.core)];
    io.numa_node = core.numa_node;
    io.pus = core.pus;
    CpuTeam& team = plan.cpu_teams[team_of_node.at(core.numa_node)];
    const std::string who = "the I/O worker of " + (options.io == IoPlacement::per_package && package >= 0
                                                        ? "package " + std::to_string(package)
                                                        : node_name(io.numa_node));
    if (feeders_on_core[io.core] > 0) {
      plan.notes.push_back(who + " shares core " + std::to_string(io.core) + " with a GPU worker: every core is taken");
    } else if (options.dedicated_io_cores && contains(team.cores, io.core) && team.cores.size() > 1) {
      erase_value(team.cores, io.core);
      io.dedicated = true;
    } else if (options.dedicated_io_cores) {
      plan.notes.push_back(who + " shares core " + std::to_string(io.core) +
                           " with the CPU team: the team is down to one core");
    }
    plan.io_workers.push_back(std::move(io));
  }

  // Finish the teams: PUs and per-thread slots.
  for (CpuTeam& t : plan.cpu_teams) {
    std::sort(t.cores.begin(), t.cores.end());
    for (int c : t.cores) {
      const auto& pus = cores[static_cast<std::size_t>(c)].pus;
      t.pus.insert(t.pus.end(), pus.begin(), pus.end());
      if (options.smt) {
        for (int pu : pus) t.slots.push_back({pu});
      } else {
        t.slots.push_back(pus);
      }
    }
    std::sort(t.pus.begin(), t.pus.end());
    t.threads = static_cast<int>(t.slots.size());
  }
  return plan;
}

std::vector<GpuInfo> gpus_near_allowed(const Topology& topo, const std::vector<GpuInfo>& gpus) {
  if (!topo.restricted()) return gpus;
  const std::vector<int>& allowed = topo.allowed_pus();
  auto is_allowed = [&](int pu) { return std::binary_search(allowed.begin(), allowed.end(), pu); };
  std::vector<int> packages;  // the packages with an allowed PU
  for (const CoreInfo& c : topo.cores())
    if (std::any_of(c.pus.begin(), c.pus.end(), is_allowed) && !contains(packages, c.package))
      packages.push_back(c.package);
  // Nearest first: a GPU whose local PUs are allowed; else one on a package
  // with allowed PUs; else any.
  std::vector<GpuInfo> local, same_package;
  for (const GpuInfo& g : gpus) {
    const NumaNodeInfo* node = topo.numa_node(g.numa_node);
    if (std::any_of(g.local_pus.begin(), g.local_pus.end(), is_allowed)) local.push_back(g);
    else if (node && node->package >= 0 && contains(packages, node->package)) same_package.push_back(g);
  }
  if (!local.empty()) return local;
  return same_package.empty() ? gpus : same_package;
}

std::vector<GpuInfo> gpus_for_peer(const std::vector<GpuInfo>& gpus, int index, int peers) {
  if (peers <= 1 || gpus.empty() || index < 0) return gpus;
  const auto n = static_cast<int>(gpus.size());
  if (n < peers) return {gpus[static_cast<std::size_t>(index % n)]};
  std::vector<GpuInfo> mine;
  for (int i = index; i < n; i += peers) mine.push_back(gpus[static_cast<std::size_t>(i)]);
  return mine;
}

}  // namespace tandem
