// The placement plan on machines with known answers: the shipped XML
// topologies (golden plans) and synthetic ones with made-up GPUs, plus the
// invariants every plan must keep.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <string>
#include <vector>

#include "tests/support/test_support.hpp"
#include "tests/support/topology_helpers.hpp"

namespace tandem {
namespace {

using test::topo::load_xml;
using test::topo::range;
Topology synthetic(const std::string& desc) { return test::topo::load_synthetic(desc); }

GpuInfo fake_gpu(int index, int numa_node) {
  GpuInfo g;
  g.index = index;
  g.name = "test GPU";
  g.numa_node = numa_node;
  return g;
}

bool has_note(const PlacementPlan& p, const std::string& text) {
  return std::any_of(p.notes.begin(), p.notes.end(),
                     [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

/// What every plan must satisfy, whatever the machine.
void check_invariants(const Topology& t, const std::vector<GpuInfo>& gpus, const PlacementPlan& p) {
  SCOPED_TRACE(t.origin());
  std::map<int, int> team_of_core;
  std::set<int> team_nodes;
  for (const CpuTeam& team : p.cpu_teams) {
    EXPECT_FALSE(team.cores.empty()) << "empty team on node " << team.numa_node;
    EXPECT_TRUE(team_nodes.insert(team.numa_node).second) << "two teams on node " << team.numa_node;
    EXPECT_TRUE(std::is_sorted(team.cores.begin(), team.cores.end()));
    EXPECT_EQ(team.threads, static_cast<int>(team.slots.size()));
    std::vector<int> pus;
    for (int c : team.cores) {
      EXPECT_TRUE(team_of_core.emplace(c, team.numa_node).second) << "core " << c << " is in two teams";
      ASSERT_NE(t.core(c), nullptr);
      EXPECT_EQ(t.core(c)->numa_node, team.numa_node) << "core " << c << " is not on its team's node";
      pus.insert(pus.end(), t.core(c)->pus.begin(), t.core(c)->pus.end());
    }
    std::sort(pus.begin(), pus.end());
    EXPECT_EQ(team.pus, pus);
    for (const auto& slot : team.slots)
      for (int pu : slot) EXPECT_TRUE(std::binary_search(pus.begin(), pus.end(), pu));
    EXPECT_EQ(team.threads, p.options.smt ? static_cast<int>(pus.size()) : static_cast<int>(team.cores.size()));
  }
  // Every CPU-bearing node has a team.
  for (const NumaNodeInfo& n : t.numa_nodes())
    if (!n.cores.empty()) EXPECT_TRUE(team_nodes.count(n.os_index)) << "node " << n.os_index << " has no team";

  ASSERT_EQ(p.gpu_workers.size(), gpus.size());
  std::map<int, int> dedicated_users;  // core -> dedicated workers on it
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    const GpuWorker& w = p.gpu_workers[i];
    EXPECT_EQ(w.gpu, gpus[i].index);
    ASSERT_NE(t.core(w.core), nullptr);
    EXPECT_EQ(w.pus, t.core(w.core)->pus);
    EXPECT_EQ(w.numa_node, t.core(w.core)->numa_node);
    if (gpus[i].numa_node >= 0 && team_nodes.count(gpus[i].numa_node))
      EXPECT_EQ(w.numa_node, gpus[i].numa_node) << "GPU " << gpus[i].index << " worker is off its NUMA node";
    if (w.dedicated) {
      EXPECT_EQ(team_of_core.count(w.core), 0u) << "dedicated GPU core " << w.core << " is also in a team";
      ++dedicated_users[w.core];
    }
  }
  for (const IoWorker& io : p.io_workers) {
    ASSERT_NE(t.core(io.core), nullptr);
    EXPECT_EQ(io.pus, t.core(io.core)->pus);
    EXPECT_EQ(io.numa_node, t.core(io.core)->numa_node);
    if (io.dedicated) {
      EXPECT_EQ(team_of_core.count(io.core), 0u);
      ++dedicated_users[io.core];
    } else if (p.options.io != IoPlacement::none) {
      EXPECT_TRUE(team_of_core.count(io.core) || !p.gpu_workers.empty()) << "shared I/O core " << io.core;
    }
  }
  for (const auto& [core, n] : dedicated_users) EXPECT_EQ(n, 1) << "core " << core << " dedicated twice";
  // No core is idle: each is in a team or held by a worker.
  std::set<int> used;
  for (const auto& [c, node] : team_of_core) used.insert(c);
  for (const GpuWorker& w : p.gpu_workers) used.insert(w.core);
  for (const IoWorker& io : p.io_workers) used.insert(io.core);
  EXPECT_EQ(used.size(), t.cores().size());
}

PlacementPlan plan_for(const Topology& t, const std::vector<GpuInfo>& gpus, const PlacementOptions& o = {}) {
  PlacementPlan p = make_plan(t, gpus, o);
  check_invariants(t, gpus, p);
  return p;
}

// ---------------------------------------------------------------------------
// Golden plans for the shipped topologies
// ---------------------------------------------------------------------------
TEST(PlacementGolden, XeonEightGpus) {
  Topology t = load_xml("2s-xeon-8gpu.xml");
  const auto gpus = t.topology_gpus();
  const PlacementPlan p = plan_for(t, gpus);
  ASSERT_EQ(p.cpu_teams.size(), 2u);
  EXPECT_EQ(p.cpu_teams[0].numa_node, 0);
  EXPECT_EQ(p.cpu_teams[0].package, 0);
  EXPECT_EQ(p.cpu_teams[0].cores, range(0, 11));
  EXPECT_EQ(p.cpu_teams[0].threads, 12);
  EXPECT_EQ(p.cpu_teams[0].slots[0], (std::vector<int>{0, 32}));
  EXPECT_EQ(p.cpu_teams[1].cores, range(16, 27));
  EXPECT_EQ(p.cpu_threads(), 24);
  // Feeders take cores from the top of their GPU's node.
  const int want_core[] = {15, 14, 13, 12, 31, 30, 29, 28};
  ASSERT_EQ(p.gpu_workers.size(), 8u);
  for (int i = 0; i < 8; ++i) {
    const GpuWorker& w = p.gpu_workers[static_cast<std::size_t>(i)];
    EXPECT_EQ(w.gpu, i);
    EXPECT_EQ(w.numa_node, i / 4);
    EXPECT_EQ(w.core, want_core[i]);
    EXPECT_EQ(w.pus, (std::vector<int>{want_core[i], want_core[i] + 32}));
    EXPECT_TRUE(w.dedicated);
  }
  ASSERT_EQ(p.io_workers.size(), 2u);
  EXPECT_EQ(p.io_workers[0].package, 0);
  EXPECT_EQ(p.io_workers[0].core, 0);
  EXPECT_EQ(p.io_workers[1].package, 1);
  EXPECT_EQ(p.io_workers[1].core, 16);
  EXPECT_FALSE(p.io_workers[0].dedicated);
  EXPECT_TRUE(p.notes.empty());
}

TEST(PlacementGolden, XeonSmtAndDedicatedIo) {
  Topology t = load_xml("2s-xeon-8gpu.xml");
  PlacementOptions o;
  o.smt = true;
  o.dedicated_io_cores = true;
  const PlacementPlan p = plan_for(t, t.topology_gpus(), o);
  ASSERT_EQ(p.cpu_teams.size(), 2u);
  EXPECT_EQ(p.cpu_teams[0].cores, range(1, 11));
  EXPECT_EQ(p.cpu_teams[1].cores, range(17, 27));
  EXPECT_EQ(p.cpu_teams[0].threads, 22);
  EXPECT_EQ(p.cpu_teams[0].slots[0], std::vector<int>{1});
  EXPECT_EQ(p.cpu_teams[0].slots[1], std::vector<int>{33});
  EXPECT_TRUE(p.io_workers[0].dedicated);
  EXPECT_TRUE(p.io_workers[1].dedicated);
}

TEST(PlacementGolden, EpycGpusFollowTheirNodes) {
  Topology t = load_xml("2s-epyc-nps2-4gpu.xml");
  const PlacementPlan p = plan_for(t, t.topology_gpus());
  ASSERT_EQ(p.cpu_teams.size(), 4u);  // the CPU-less CXL node 4 gets none
  EXPECT_EQ(p.cpu_teams[0].cores, range(0, 6));
  EXPECT_EQ(p.cpu_teams[1].cores, range(8, 14));
  EXPECT_EQ(p.cpu_teams[2].cores, range(16, 23));
  EXPECT_EQ(p.cpu_teams[3].cores, range(24, 29));
  EXPECT_EQ(p.cpu_teams[3].package, 1);
  ASSERT_EQ(p.gpu_workers.size(), 4u);
  EXPECT_EQ(p.gpu_workers[0].core, 7);
  EXPECT_EQ(p.gpu_workers[1].core, 15);
  EXPECT_EQ(p.gpu_workers[2].core, 31);
  EXPECT_EQ(p.gpu_workers[3].core, 30);
  EXPECT_EQ(p.gpu_workers[3].numa_node, 3);
  ASSERT_EQ(p.io_workers.size(), 2u);
  EXPECT_EQ(p.io_workers[0].core, 0);
  EXPECT_EQ(p.io_workers[1].core, 16);
  EXPECT_EQ(p.io_workers[1].numa_node, 2);
}

TEST(PlacementGolden, EpycIoPerNumaNode) {
  Topology t = load_xml("2s-epyc-nps2-4gpu.xml");
  PlacementOptions o;
  o.io = IoPlacement::per_numa_node;
  const PlacementPlan p = plan_for(t, t.topology_gpus(), o);
  ASSERT_EQ(p.io_workers.size(), 4u);
  for (int n = 0; n < 4; ++n) {
    EXPECT_EQ(p.io_workers[static_cast<std::size_t>(n)].numa_node, n);
    EXPECT_EQ(p.io_workers[static_cast<std::size_t>(n)].core, 8 * n);
    EXPECT_EQ(p.io_workers[static_cast<std::size_t>(n)].package, n / 2);
  }
}

TEST(PlacementGolden, Workstation) {
  Topology t = load_xml("workstation-1gpu.xml");
  const PlacementPlan p = plan_for(t, t.topology_gpus());
  ASSERT_EQ(p.cpu_teams.size(), 1u);
  EXPECT_EQ(p.cpu_teams[0].cores, range(0, 6));
  EXPECT_EQ(p.cpu_teams[0].pus, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14}));
  ASSERT_EQ(p.gpu_workers.size(), 1u);
  EXPECT_EQ(p.gpu_workers[0].core, 7);
  EXPECT_EQ(p.gpu_workers[0].pus, (std::vector<int>{7, 15}));
  ASSERT_EQ(p.io_workers.size(), 1u);
  EXPECT_EQ(p.io_workers[0].core, 0);
}

// ---------------------------------------------------------------------------
// Synthetic machines with made-up GPUs: the corner cases of the rules
// ---------------------------------------------------------------------------
TEST(PlacementSynthetic, NoGpus) {
  Topology t = synthetic("pack:2 numa:1 core:4 pu:2");
  const PlacementPlan p = plan_for(t, {});
  ASSERT_EQ(p.cpu_teams.size(), 2u);
  EXPECT_EQ(p.cpu_teams[0].cores, range(0, 3));
  EXPECT_EQ(p.cpu_teams[1].cores, range(4, 7));
  EXPECT_EQ(p.cpu_teams[1].pus, range(8, 15));
  EXPECT_TRUE(p.gpu_workers.empty());
  EXPECT_EQ(p.io_workers.size(), 2u);
}

TEST(PlacementSynthetic, MoreGpusThanSpareCoresShareFeederCores) {
  Topology t = synthetic("pack:1 numa:1 core:3 pu:1");
  const std::vector<GpuInfo> gpus{fake_gpu(0, 0), fake_gpu(1, 0), fake_gpu(2, 0), fake_gpu(3, 0)};
  const PlacementPlan p = plan_for(t, gpus);
  ASSERT_EQ(p.cpu_teams.size(), 1u);
  EXPECT_EQ(p.cpu_teams[0].cores, std::vector<int>{0});  // the team keeps one core
  EXPECT_EQ(p.gpu_workers[0].core, 2);
  EXPECT_TRUE(p.gpu_workers[0].dedicated);
  EXPECT_EQ(p.gpu_workers[1].core, 1);
  EXPECT_TRUE(p.gpu_workers[1].dedicated);
  // The rest double up on feeder cores (least loaded first), never on the team's.
  EXPECT_FALSE(p.gpu_workers[2].dedicated);
  EXPECT_FALSE(p.gpu_workers[3].dedicated);
  EXPECT_NE(p.gpu_workers[2].core, 0);
  EXPECT_NE(p.gpu_workers[3].core, 0);
  EXPECT_NE(p.gpu_workers[2].core, p.gpu_workers[3].core);
  EXPECT_TRUE(has_note(p, "GPU 2 shares core"));
  // The I/O worker takes the lowest core no feeder uses: the team's.
  EXPECT_EQ(p.io_workers[0].core, 0);
}

TEST(PlacementSynthetic, SingleCoreNodeSharesWithTheTeam) {
  Topology t = synthetic("pack:1 numa:1 core:1 pu:2");
  const PlacementPlan p = plan_for(t, {fake_gpu(0, 0)});
  EXPECT_EQ(p.cpu_teams[0].cores, std::vector<int>{0});
  EXPECT_EQ(p.gpu_workers[0].core, 0);
  EXPECT_FALSE(p.gpu_workers[0].dedicated);
  EXPECT_TRUE(has_note(p, "single core"));
  EXPECT_TRUE(has_note(p, "I/O worker"));  // even the I/O worker has to share with the feeder
}

TEST(PlacementSynthetic, UnknownLocalityGoesWhereMostCoresAreLeft) {
  Topology t = synthetic("pack:2 numa:1 core:4 pu:1");
  const std::vector<GpuInfo> gpus{fake_gpu(0, -1), fake_gpu(1, -1), fake_gpu(2, 7)};
  const PlacementPlan p = plan_for(t, gpus);
  EXPECT_EQ(p.gpu_workers[0].numa_node, 0);  // tie: lowest node
  EXPECT_EQ(p.gpu_workers[0].core, 3);
  EXPECT_EQ(p.gpu_workers[1].numa_node, 1);  // node 1 now has more cores left
  EXPECT_EQ(p.gpu_workers[1].core, 7);
  EXPECT_EQ(p.gpu_workers[2].numa_node, 0);  // node 7 does not exist: tie again
  EXPECT_EQ(p.gpu_workers[2].core, 2);
  EXPECT_TRUE(has_note(p, "GPU 0: locality unknown"));
  EXPECT_TRUE(has_note(p, "NUMA node 7 has no cores"));
}

TEST(PlacementSynthetic, GpuOnCpulessNodeGoesToTheLargestTeam) {
  Topology t = load_xml("2s-epyc-nps2-4gpu.xml");
  std::vector<GpuInfo> gpus = t.topology_gpus();
  gpus.push_back(fake_gpu(4, 4));  // e.g. a device hanging off the CXL node
  const PlacementPlan p = plan_for(t, gpus);
  EXPECT_EQ(p.gpu_workers[4].numa_node, 2);  // the only node with all 8 cores left
  EXPECT_EQ(p.gpu_workers[4].core, 23);
}

TEST(PlacementSynthetic, SharedGpuCoresKeepTeamsWhole) {
  Topology t = synthetic("pack:2 numa:1 core:4 pu:1");
  PlacementOptions o;
  o.dedicated_gpu_cores = false;
  const PlacementPlan p = plan_for(t, {fake_gpu(0, 1), fake_gpu(1, 1)}, o);
  EXPECT_EQ(p.cpu_teams[1].cores, range(4, 7));
  EXPECT_EQ(p.gpu_workers[0].core, 7);
  EXPECT_EQ(p.gpu_workers[1].core, 6);  // still one feeder per core while cores last
  EXPECT_FALSE(p.gpu_workers[0].dedicated);
}

TEST(PlacementSynthetic, IoNoneAndNoNumaLevel) {
  Topology t = synthetic("pack:2 core:4 pu:1");
  PlacementOptions o;
  o.io = IoPlacement::none;
  PlacementPlan p = plan_for(t, {}, o);
  ASSERT_EQ(p.cpu_teams.size(), 1u);  // one NUMA node spanning both packages
  EXPECT_EQ(p.cpu_teams[0].package, -1);
  EXPECT_EQ(p.cpu_teams[0].cores, range(0, 7));
  EXPECT_TRUE(p.io_workers.empty());
  p = plan_for(t, {});
  ASSERT_EQ(p.io_workers.size(), 2u);  // still one per package
  EXPECT_EQ(p.io_workers[0].core, 0);
  EXPECT_EQ(p.io_workers[1].core, 4);
}

TEST(PlacementSynthetic, EmptyTopologyGivesEmptyPlan) {
  const PlacementPlan p = make_plan(Topology{}, {fake_gpu(0, 0)});
  EXPECT_TRUE(p.cpu_teams.empty());
  EXPECT_TRUE(p.gpu_workers.empty());
  EXPECT_TRUE(p.io_workers.empty());
}

TEST(PlacementOptionsNames, RoundTrip) {
  for (IoPlacement io : {IoPlacement::per_package, IoPlacement::per_numa_node, IoPlacement::none})
    EXPECT_EQ(parse_io_placement(io_placement_name(io)), io);
  EXPECT_FALSE(parse_io_placement("socket").has_value());
}

// The plan for this machine is made the same way; binding each slot must work.
TEST(PlacementThisMachine, EverySlotCanBeBound) {
  Topology t;
  ASSERT_TRUE(Topology::load_this_machine(t).ok());
  const PlacementPlan p = plan_for(t, find_gpus(t).gpus);
  std::vector<std::vector<int>> slots;
  for (const CpuTeam& team : p.cpu_teams) slots.insert(slots.end(), team.slots.begin(), team.slots.end());
  for (const GpuWorker& w : p.gpu_workers) slots.push_back(w.pus);
  for (const IoWorker& w : p.io_workers) slots.push_back(w.pus);
  for (const auto& slot : slots) {
    Status s;
    std::vector<int> got;
    std::thread th([&] {
      s = bind_current_thread(slot);
      if (s.ok()) s = current_thread_pus(got);
    });
    th.join();
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(got, slot);
  }
}

}  // namespace
}  // namespace tandem
