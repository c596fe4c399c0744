// Placement inside the CPUs a process is given: Topology::allowed_pus,
// restrict_to, the CPU list syntax, plans for "ranks" bound to one socket or
// NUMA node of the shipped 2-socket topologies, the engine's plan, `tandem
// info --cpuset`, and (under ctest affinity.taskset) a real run under taskset.
#include <gtest/gtest.h>
#include <dirent.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "host/engine/engine_plan.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/topology_helpers.hpp"

namespace tandem {
namespace {

using test::topo::load_synthetic;
using test::topo::load_xml;
using test::topo::range;

std::vector<int> concat(std::vector<int> a, const std::vector<int>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  return a;
}

bool subset(const std::vector<int>& part, const std::vector<int>& whole) {
  return std::all_of(part.begin(), part.end(),
                     [&](int x) { return std::find(whole.begin(), whole.end(), x) != whole.end(); });
}

/// Every PU a plan binds anything to.
std::set<int> used_pus(const PlacementPlan& p) {
  std::set<int> s;
  for (const CpuTeam& t : p.cpu_teams)
    for (const auto& slot : t.slots) s.insert(slot.begin(), slot.end());
  for (const GpuWorker& w : p.gpu_workers) s.insert(w.pus.begin(), w.pus.end());
  for (const IoWorker& w : p.io_workers) s.insert(w.pus.begin(), w.pus.end());
  return s;
}

/// The OS PUs of one package.
std::vector<int> package_pus(const Topology& t, int package) {
  std::vector<int> pus;
  for (const CoreInfo& c : t.cores())
    if (c.package == package) pus.insert(pus.end(), c.pus.begin(), c.pus.end());
  std::sort(pus.begin(), pus.end());
  return pus;
}

struct Rank {
  Topology topo;
  std::vector<GpuInfo> gpus;
  PlacementPlan plan;
};

Rank rank_bound_to(const Topology& machine, const std::vector<int>& pus) {
  Rank r{machine, {}, {}};
  const Status s = r.topo.restrict_to(pus);
  EXPECT_TRUE(s.ok()) << s.message();
  r.gpus = gpus_near_allowed(r.topo, r.topo.topology_gpus());
  r.plan = make_plan(r.topo, r.gpus);
  return r;
}

std::vector<int> gpu_indices(const std::vector<GpuInfo>& gpus) {
  std::vector<int> v;
  for (const auto& g : gpus) v.push_back(g.index);
  return v;
}

TEST(CpuList, ParsesWhatFormatWrites) {
  std::mt19937 rng(12);
  for (int trial = 0; trial < 200; ++trial) {
    std::set<int> ids;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) ids.insert(static_cast<int>(rng() % 97));
    if (ids.empty()) continue;
    const std::vector<int> want(ids.begin(), ids.end());
    const std::string text = format_id_list(want);
    std::vector<int> got;
    ASSERT_TRUE(parse_id_list(text, got).ok()) << text;
    EXPECT_EQ(got, want) << text;
  }
  std::vector<int> got;
  ASSERT_TRUE(parse_id_list("7,1-3,2", got).ok());
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 7}));
}

TEST(CpuList, RefusesWhatIsNotAList) {
  for (const char* bad : {"", "3-1", "a", "1,", ",1", "-1", "1-", "1-x", "0x3", " 1", "1.5"}) {
    std::vector<int> got{42};
    const Status s = parse_id_list(bad, got);
    EXPECT_FALSE(s.ok()) << "'" << bad << "'";
    EXPECT_EQ(s.code(), Errc::invalid_argument);
    EXPECT_NE(s.message().find(std::string("'") + bad + "'"), std::string::npos) << s.message();
    EXPECT_EQ(got, std::vector<int>{42}) << "changed on error";
  }
}

TEST(AllowedPus, FilesAllowEveryPuUntilRestricted) {
  Topology t = load_xml("2s-xeon-8gpu.xml");
  EXPECT_EQ(t.allowed_pus(), range(0, 63));
  EXPECT_FALSE(t.restricted());
  Topology copy = t;
  ASSERT_TRUE(copy.restrict_to(std::vector<int>{5, 3, 3, 40}).ok());
  EXPECT_EQ(copy.allowed_pus(), (std::vector<int>{3, 5, 40}));
  EXPECT_TRUE(copy.restricted());
  EXPECT_EQ(t.allowed_pus(), range(0, 63)) << "restricting a copy changed the original";
  // Narrowing again must stay inside what is allowed; errors change nothing.
  const Status outside = copy.restrict_to(std::vector<int>{3, 4});
  EXPECT_EQ(outside.code(), Errc::invalid_argument);
  EXPECT_NE(outside.message().find("no allowed PU 4"), std::string::npos) << outside.message();
  EXPECT_EQ(copy.restrict_to(std::vector<int>{}).code(), Errc::invalid_argument);
  EXPECT_EQ(copy.restrict_to(std::vector<int>{64}).code(), Errc::invalid_argument);
  EXPECT_EQ(copy.allowed_pus(), (std::vector<int>{3, 5, 40}));
}

// Two ranks, one per socket of the 8-GPU Xeon (as mpirun --bind-to socket
// gives them): disjoint plans, each on its own socket with its socket's GPUs.
TEST(RankPlans, XeonOneRankPerSocket) {
  const Topology machine = load_xml("2s-xeon-8gpu.xml");
  const std::vector<int> socket0 = concat(range(0, 15), range(32, 47));
  const std::vector<int> socket1 = concat(range(16, 31), range(48, 63));
  EXPECT_EQ(package_pus(machine, 0), socket0);
  const Rank a = rank_bound_to(machine, socket0);
  const Rank b = rank_bound_to(machine, socket1);
  EXPECT_EQ(gpu_indices(a.gpus), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(gpu_indices(b.gpus), (std::vector<int>{4, 5, 6, 7}));
  for (const Rank* r : {&a, &b}) {
    const int node = r == &a ? 0 : 1;
    ASSERT_EQ(r->plan.cpu_teams.size(), 1u);
    EXPECT_EQ(r->plan.cpu_teams[0].numa_node, node);
    EXPECT_EQ(r->plan.cpu_teams[0].cores, range(16 * node, 16 * node + 11));  // 4 feeder cores taken
    ASSERT_EQ(r->plan.gpu_workers.size(), 4u);
    for (const GpuWorker& w : r->plan.gpu_workers) {
      EXPECT_EQ(w.numa_node, node);
      EXPECT_TRUE(w.dedicated);
    }
    ASSERT_EQ(r->plan.io_workers.size(), 1u);
    EXPECT_EQ(r->plan.io_workers[0].package, node);
    EXPECT_TRUE(r->plan.notes.empty()) << r->plan.notes.front();
    const std::set<int> used = used_pus(r->plan);
    EXPECT_TRUE(subset({used.begin(), used.end()}, r->topo.allowed_pus()));
  }
  std::vector<int> both;
  const std::set<int> ua = used_pus(a.plan), ub = used_pus(b.plan);
  std::set_intersection(ua.begin(), ua.end(), ub.begin(), ub.end(), std::back_inserter(both));
  EXPECT_TRUE(both.empty()) << "both ranks use PUs " << format_id_list(both);
}

// Four ranks, one per NUMA node of the NPS2 EPYC (mpirun --bind-to numa).
// Node 2 has no GPU: its rank takes the GPUs of its own package (node 3's).
TEST(RankPlans, EpycOneRankPerNumaNode) {
  const Topology machine = load_xml("2s-epyc-nps2-4gpu.xml");
  const std::vector<std::vector<int>> want_gpus{{0}, {1}, {2, 3}, {2, 3}};
  std::set<int> seen;
  for (int node = 0; node < 4; ++node) {
    SCOPED_TRACE("rank on node " + std::to_string(node));
    const Rank r = rank_bound_to(machine, machine.numa_node(node)->pus);
    EXPECT_EQ(gpu_indices(r.gpus), want_gpus[static_cast<std::size_t>(node)]);
    ASSERT_EQ(r.plan.cpu_teams.size(), 1u);
    EXPECT_EQ(r.plan.cpu_teams[0].numa_node, node);
    for (const GpuWorker& w : r.plan.gpu_workers) EXPECT_EQ(w.numa_node, node);
    ASSERT_EQ(r.plan.io_workers.size(), 1u);
    EXPECT_EQ(r.plan.io_workers[0].numa_node, node);
    for (int pu : used_pus(r.plan)) {
      EXPECT_TRUE(seen.insert(pu).second) << "PU " << pu << " is in two ranks' plans";
      EXPECT_TRUE(subset({pu}, machine.numa_node(node)->pus));
    }
  }
}

// numactl --physcpubind with one hardware thread of each core: each core
// keeps only its allowed PU, so no thread lands on the sibling.
TEST(RankPlans, OneThreadOfEachCore) {
  const Topology machine = load_synthetic("pack:2 numa:1 core:4 pu:2");
  Topology t = machine;
  // Synthetic PUs are numbered in order: core c has PUs 2c and 2c+1.
  ASSERT_TRUE(t.restrict_to(std::vector<int>{0, 2, 4, 6}).ok());
  const PlacementPlan p = make_plan(t, {});
  ASSERT_EQ(p.cpu_teams.size(), 1u);
  EXPECT_EQ(p.cpu_teams[0].cores, range(0, 3));
  EXPECT_EQ(p.cpu_teams[0].pus, (std::vector<int>{0, 2, 4, 6}));
  EXPECT_EQ(p.cpu_teams[0].slots, (std::vector<std::vector<int>>{{0}, {2}, {4}, {6}}));
  ASSERT_EQ(p.io_workers.size(), 1u);
  EXPECT_EQ(p.io_workers[0].pus, std::vector<int>{0});
}

// A GPU whose node has no allowed core: its feeder goes to an allowed core,
// and the note says the node's cores are not allowed.
TEST(RankPlans, FeederOfAFarGpuStaysInside) {
  Topology t = load_synthetic("pack:2 numa:1 core:4 pu:1");
  ASSERT_TRUE(t.restrict_to(range(4, 7)).ok());
  GpuInfo far;
  far.index = 0;
  far.numa_node = 0;
  far.local_pus = range(0, 3);
  const std::vector<GpuInfo> gpus = gpus_near_allowed(t, {far});
  ASSERT_EQ(gpus.size(), 1u) << "no GPU is near: all are kept";
  const PlacementPlan p = make_plan(t, gpus);
  ASSERT_EQ(p.gpu_workers.size(), 1u);
  EXPECT_EQ(p.gpu_workers[0].numa_node, 1);
  EXPECT_TRUE(subset(p.gpu_workers[0].pus, range(4, 7)));
  ASSERT_FALSE(p.notes.empty());
  EXPECT_NE(p.notes[0].find("has no allowed cores"), std::string::npos) << p.notes[0];
}

// Ranks bound to the same socket split its GPUs instead of all feeding all.
TEST(RankPlans, PeersOnOneBindingSplitItsGpus) {
  Topology t = load_xml("2s-xeon-8gpu.xml");
  ASSERT_TRUE(t.restrict_to(concat(range(16, 31), range(48, 63))).ok());
  const std::vector<GpuInfo> near = gpus_near_allowed(t, t.topology_gpus());
  EXPECT_EQ(gpu_indices(gpus_for_peer(near, 0, 1)), (std::vector<int>{4, 5, 6, 7}));
  EXPECT_EQ(gpu_indices(gpus_for_peer(near, 0, 2)), (std::vector<int>{4, 6}));
  EXPECT_EQ(gpu_indices(gpus_for_peer(near, 1, 2)), (std::vector<int>{5, 7}));
  EXPECT_EQ(gpu_indices(gpus_for_peer(near, 2, 3)), (std::vector<int>{6}));
  // More peers than GPUs: one GPU each, spread evenly.
  std::map<int, int> fed;
  for (int i = 0; i < 8; ++i) {
    const auto mine = gpus_for_peer(near, i, 8);
    ASSERT_EQ(mine.size(), 1u);
    ++fed[mine[0].index];
  }
  for (int g = 4; g < 8; ++g) EXPECT_EQ(fed[g], 2) << "GPU " << g;
  EXPECT_TRUE(gpus_for_peer({}, 1, 2).empty());
}

// The engine's plan (teams, feeders, reader, codecs, decoders) stays inside too.
TEST(RankPlans, EnginePlanStaysInside) {
  Topology t = load_xml("2s-xeon-8gpu.xml");
  const std::vector<int> socket1 = concat(range(16, 31), range(48, 63));
  ASSERT_TRUE(t.restrict_to(socket1).ok());
  RunOptions o;
  EnginePlan ep;
  std::vector<std::string> notices;
  ASSERT_TRUE(make_engine_plan(o, t, t.topology_gpus(), "8 GPUs", ep, notices).ok());
  ASSERT_FALSE(ep.teams.empty());
  for (const auto& team : ep.teams)
    for (const auto& slot : team.slots) EXPECT_TRUE(subset(slot, socket1));
  ASSERT_EQ(ep.gpus.size(), 4u);
  for (const auto& g : ep.gpus) {
    EXPECT_GE(g.ordinal, 4);
    EXPECT_TRUE(subset(g.pus, socket1));
  }
  EXPECT_FALSE(ep.io_pus.empty());
  EXPECT_TRUE(subset(ep.io_pus, socket1));
  EXPECT_FALSE(ep.codec_pus.empty());
  EXPECT_TRUE(subset(ep.codec_pus, socket1));
  for (const auto& n : ep.compute_nodes) EXPECT_TRUE(subset(n.pus, socket1));
}

TEST(InfoCpuset, PlansOneRankOfABiggerMachine) {
  const auto r = test::run_command({TANDEM_CLI, "info", "--json", "--topology",
                                    test::data_dir() + "/topologies/2s-xeon-8gpu.xml", "--cpuset", "16-31,48-63"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["cpu"]["allowed_pus"].get<std::vector<int>>(), concat(range(16, 31), range(48, 63)));
  EXPECT_TRUE(j["cpu"]["restricted"].get<bool>());
  EXPECT_EQ(j["gpus"].size(), 8u) << "the machine's GPUs are all reported";
  ASSERT_EQ(j["placement"]["cpu_teams"].size(), 1u);
  EXPECT_EQ(j["placement"]["cpu_teams"][0]["numa_node"], 1);
  std::vector<int> fed;
  for (const auto& w : j["placement"]["gpu_workers"]) fed.push_back(w["gpu"].get<int>());
  EXPECT_EQ(fed, (std::vector<int>{4, 5, 6, 7}));
  const auto text = test::run_command({TANDEM_CLI, "info", "--synthetic", "pack:2 core:2 pu:1", "--cpuset", "1-2"});
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("Allowed   PUs 1-2 of 4"), std::string::npos) << text.out;
}

TEST(InfoCpuset, BadListsAreUsageErrors) {
  for (const char* bad : {"0-", "128", "x"}) {
    const auto r = test::run_command({TANDEM_CLI, "info", "--synthetic", "pack:2 core:2 pu:1", "--cpuset", bad});
    EXPECT_EQ(r.rc, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("tandem info: "), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
}

// ---------------------------------------------------------------------------
// Under `taskset -c LIST` (ctest affinity.taskset sets TANDEM_EXPECT_PUS=LIST)
// ---------------------------------------------------------------------------
std::vector<int> expected_pus() {
  const char* e = std::getenv("TANDEM_EXPECT_PUS");
  std::vector<int> pus;
  if (e && *e) EXPECT_TRUE(parse_id_list(e, pus).ok()) << e;
  return pus;
}

/// The CPU lists every thread of this process may run on, from /proc.
std::vector<std::vector<int>> thread_affinities() {
  std::vector<std::vector<int>> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("Cpus_allowed_list:", 0) == 0) {
        std::vector<int> pus;
        if (parse_id_list(line.substr(line.find_first_not_of(" \t", 18)), pus).ok()) out.push_back(pus);
      }
  }
  return out;
}

TEST(UnderTaskset, TheMachineTopologyAllowsOnlyTheBinding) {
  const std::vector<int> want = expected_pus();
  if (want.empty()) GTEST_SKIP() << "run by ctest affinity.taskset (taskset -c 1, TANDEM_EXPECT_PUS=1)";
  Topology t;
  ASSERT_TRUE(Topology::load_this_machine(t).ok());
  EXPECT_EQ(t.allowed_pus(), want);
  const PlacementPlan p = make_plan(t, {});
  const std::set<int> used = used_pus(p);
  EXPECT_EQ(std::vector<int>(used.begin(), used.end()), want);
  EXPECT_EQ(p.cpu_threads(), static_cast<int>(want.size()));
}

TEST(UnderTaskset, ARunUsesOnlyTheAllowedCpus) {
  const std::vector<int> want = expected_pus();
  if (want.empty()) GTEST_SKIP() << "run by ctest affinity.taskset (taskset -c 1, TANDEM_EXPECT_PUS=1)";
  Pipeline p;
  ASSERT_TRUE(Pipeline::parse("gaussian sigma=2 | sobel", p).ok());
  RunOptions o;
  o.inputs = {test::data_dir() + "/images"};
  o.output_dir = ::testing::TempDir() + "/affinity_taskset_out";
  o.model_cache = "-";
  std::mutex mu;
  std::vector<std::vector<int>> outside;
  std::size_t looks = 0;
  o.on_item = [&](const ItemResult&) {
    // While the stages' threads are alive and bound: none may run outside.
    std::lock_guard lock(mu);
    ++looks;
    for (auto& pus : thread_affinities())
      if (!subset(pus, want)) outside.push_back(pus);
  };
  RunSummary s;
  ASSERT_TRUE(run_batch(p, o, s).ok());
  EXPECT_GT(s.ok, 3u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(looks, s.ok);
  for (const auto& pus : outside) ADD_FAILURE() << "a thread may run on PUs " << format_id_list(pus);
  std::filesystem::remove_all(o.output_dir);
}

TEST(UnderTaskset, InfoShowsTheBinding) {
  const std::vector<int> want = expected_pus();
  if (want.empty()) GTEST_SKIP() << "run by ctest affinity.taskset (taskset -c 1, TANDEM_EXPECT_PUS=1)";
  const auto r = test::run_command({TANDEM_CLI, "info", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["cpu"]["allowed_pus"].get<std::vector<int>>(), want);
  int threads = 0;
  for (const auto& team : j["placement"]["cpu_teams"]) {
    EXPECT_TRUE(subset(team["pus"].get<std::vector<int>>(), want)) << team.dump();
    threads += team["threads"].get<int>();
  }
  EXPECT_EQ(threads, static_cast<int>(want.size()));
  for (const auto& w : j["placement"]["io_workers"]) EXPECT_TRUE(subset(w["pus"].get<std::vector<int>>(), want));
}

}  // namespace
}  // namespace tandem
