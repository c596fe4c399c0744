// The machine model: synthetic and XML topologies with known answers (never
// this build machine's), GPU discovery from topology files, binding, and the
// honest "no GPU" answer on this machine.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.hpp"
#include "tests/support/topology_helpers.hpp"

namespace tandem {
namespace {

std::string topo_file(const std::string& name) { return test::data_dir() + "/topologies/" + name; }

using test::topo::load_synthetic;
using test::topo::load_xml;
using test::topo::range;

std::vector<int> concat(std::vector<int> a, const std::vector<int>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const CacheInfo* find_cache(const Topology& t, int level, const std::string& type) {
  for (const CacheInfo& c : t.caches())
    if (c.level == level && c.type == type) return &c;
  return nullptr;
}

// ---------------------------------------------------------------------------
// Synthetic topologies
// ---------------------------------------------------------------------------
TEST(TopologySynthetic, TwoPackagesTwoNodesEach) {
  Topology t = load_synthetic("pack:2 numa:2 l3:1 core:4 pu:2");
  ASSERT_TRUE(t.loaded());
  EXPECT_EQ(t.source(), TopologySource::synthetic);
  EXPECT_EQ(t.origin(), "pack:2 numa:2 l3:1 core:4 pu:2");
  EXPECT_EQ(t.packages().size(), 2u);
  ASSERT_EQ(t.numa_nodes().size(), 4u);
  EXPECT_EQ(t.cores().size(), 16u);
  EXPECT_EQ(t.pu_count(), 32);
  for (int n = 0; n < 4; ++n) {
    const NumaNodeInfo& node = t.numa_nodes()[static_cast<std::size_t>(n)];
    EXPECT_EQ(node.os_index, n);
    EXPECT_EQ(node.package, n / 2);
    EXPECT_EQ(node.cores, range(4 * n, 4 * n + 3));
    EXPECT_EQ(node.pus, range(8 * n, 8 * n + 7));
    EXPECT_GT(node.local_memory_bytes, 0u);
  }
  EXPECT_EQ(t.packages()[1].cores, range(8, 15));
  EXPECT_EQ(t.packages()[1].numa_nodes, (std::vector<int>{2, 3}));
  EXPECT_EQ(t.packages()[1].pus, 16);
  const CoreInfo* c5 = t.core(5);
  ASSERT_NE(c5, nullptr);
  EXPECT_EQ(c5->pus, (std::vector<int>{10, 11}));
  EXPECT_EQ(c5->numa_node, 1);
  EXPECT_EQ(c5->package, 0);
  const CacheInfo* l3 = find_cache(t, 3, "unified");
  ASSERT_NE(l3, nullptr);
  EXPECT_EQ(l3->count, 4);
  EXPECT_EQ(l3->cores_sharing, 4);
  EXPECT_GT(l3->size_bytes, 0u);
  EXPECT_TRUE(t.host().hostname.empty());
  EXPECT_TRUE(t.topology_gpus().empty());
}

TEST(TopologySynthetic, NoNumaLevelGivesOneNodeSpanningPackages) {
  Topology t = load_synthetic("pack:2 core:4 pu:2");
  ASSERT_EQ(t.numa_nodes().size(), 1u);
  EXPECT_EQ(t.numa_nodes()[0].package, -1);
  EXPECT_EQ(t.numa_nodes()[0].cores, range(0, 7));
  EXPECT_EQ(t.packages()[0].numa_nodes, (std::vector<int>{0}));
  EXPECT_EQ(t.packages()[1].numa_nodes, (std::vector<int>{0}));
}

TEST(TopologySynthetic, NoCoreLevelMakesOnePseudoCorePerPU) {
  Topology t = load_synthetic("pack:2 pu:3");
  ASSERT_EQ(t.cores().size(), 6u);
  for (const CoreInfo& c : t.cores()) {
    EXPECT_EQ(c.pus.size(), 1u);
    EXPECT_EQ(c.os_index, -1);
  }
  EXPECT_EQ(t.cores()[4].package, 1);
}

TEST(TopologySynthetic, BadDescriptionsAreInvalidArgument) {
  for (const char* bad : {"", "   ", "pack:2 numa:1 core:bad", "banana", "pack:2 core:2"}) {
    Topology t;
    const Status s = Topology::load_synthetic(bad, t);
    EXPECT_EQ(s.code(), Errc::invalid_argument) << "\"" << bad << "\"";
    EXPECT_FALSE(s.message().empty());
    EXPECT_FALSE(t.loaded());
  }
  Topology t;
  const Status s = Topology::load_synthetic("pack:2 numa:1 core:bad", t);
  EXPECT_NE(s.message().find("pack:2 numa:1 core:bad"), std::string::npos) << s.message();
}

// ---------------------------------------------------------------------------
// XML topologies shipped in data/topologies
// ---------------------------------------------------------------------------
TEST(TopologyXml, XeonTwoSocketsEightGpus) {
  Topology t = load_xml("2s-xeon-8gpu.xml");
  ASSERT_TRUE(t.loaded());
  EXPECT_EQ(t.source(), TopologySource::xml);
  EXPECT_EQ(t.host().hostname, "hgx-h100");
  EXPECT_EQ(t.host().os_name, "Linux");
  EXPECT_EQ(t.host().architecture, "x86_64");
  EXPECT_EQ(t.host().cpu_model, "Intel(R) Xeon(R) Gold 6444Y");
  EXPECT_EQ(t.packages().size(), 2u);
  ASSERT_EQ(t.numa_nodes().size(), 2u);
  EXPECT_EQ(t.cores().size(), 32u);
  EXPECT_EQ(t.pu_count(), 64);
  // Linux numbering: core k's hyperthreads are PUs k and k+32.
  EXPECT_EQ(t.core(0)->pus, (std::vector<int>{0, 32}));
  EXPECT_EQ(t.core(17)->pus, (std::vector<int>{17, 49}));
  EXPECT_EQ(t.core(17)->os_index, 1);  // OS core ids restart in each package
  EXPECT_EQ(t.numa_nodes()[1].cores, range(16, 31));
  EXPECT_EQ(t.numa_nodes()[1].pus, concat(range(16, 31), range(48, 63)));
  EXPECT_EQ(t.numa_nodes()[0].local_memory_bytes, 256ull << 30);

  const CacheInfo* l1d = find_cache(t, 1, "data");
  const CacheInfo* l1i = find_cache(t, 1, "instruction");
  const CacheInfo* l2 = find_cache(t, 2, "unified");
  const CacheInfo* l3 = find_cache(t, 3, "unified");
  ASSERT_TRUE(l1d && l1i && l2 && l3);
  EXPECT_EQ(l1d->size_bytes, 48u * 1024);
  EXPECT_EQ(l1d->count, 32);
  EXPECT_EQ(l1d->cores_sharing, 1);
  EXPECT_EQ(l1i->size_bytes, 32u * 1024);
  EXPECT_EQ(l2->size_bytes, 2u << 20);
  EXPECT_EQ(l3->size_bytes, 45u << 20);
  EXPECT_EQ(l3->count, 2);
  EXPECT_EQ(l3->cores_sharing, 16);
  EXPECT_EQ(l3->line_size, 64);

  const std::vector<GpuInfo> gpus = t.topology_gpus();
  ASSERT_EQ(gpus.size(), 8u);
  const char* bus[] = {"0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0", "0000:5d:00.0",
                       "0000:9a:00.0", "0000:ab:00.0", "0000:ba:00.0", "0000:db:00.0"};
  for (int i = 0; i < 8; ++i) {
    const GpuInfo& g = gpus[static_cast<std::size_t>(i)];
    EXPECT_EQ(g.index, i);
    EXPECT_EQ(g.name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(g.pci_bus_id, bus[i]);
    EXPECT_EQ(g.numa_node, i / 4);
    EXPECT_EQ(g.local_pus, t.numa_nodes()[static_cast<std::size_t>(i / 4)].pus);
    EXPECT_EQ(g.sm_count, 132);
    EXPECT_EQ(g.memory_total_bytes, 83516416ull * 1024);
    EXPECT_EQ(g.source, "topology");
    EXPECT_EQ(g.cc_major, 0);  // hwloc's CUDA OS devices do not record it
  }
  const GpuScan scan = find_gpus(t);
  EXPECT_EQ(scan.gpus.size(), 8u);
  EXPECT_NE(scan.status.find("8 NVIDIA GPUs"), std::string::npos) << scan.status;
}

TEST(TopologyXml, EpycSubNumaNodesAndCpulessNode) {
  Topology t = load_xml("2s-epyc-nps2-4gpu.xml");
  ASSERT_EQ(t.numa_nodes().size(), 5u);
  for (int n = 0; n < 4; ++n) {
    const NumaNodeInfo* node = t.numa_node(n);
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(node->cores, range(8 * n, 8 * n + 7));
    EXPECT_EQ(node->package, n / 2);
  }
  const NumaNodeInfo* cxl = t.numa_node(4);
  ASSERT_NE(cxl, nullptr);
  EXPECT_TRUE(cxl->cores.empty());
  // hwloc makes the PUs of the package it hangs off its local PUs; it still gets no core.
  EXPECT_EQ(cxl->pus, concat(range(16, 31), range(48, 63)));
  EXPECT_EQ(cxl->package, 1);
  EXPECT_EQ(cxl->local_memory_bytes, 128ull << 30);
  EXPECT_EQ(t.packages()[1].numa_nodes, (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(t.host().cpu_model, "AMD EPYC 9124 16-Core Processor");
  const CacheInfo* l3 = find_cache(t, 3, "unified");
  ASSERT_NE(l3, nullptr);
  EXPECT_EQ(l3->count, 8);
  EXPECT_EQ(l3->cores_sharing, 4);

  const std::vector<GpuInfo> gpus = t.topology_gpus();
  ASSERT_EQ(gpus.size(), 4u);
  EXPECT_EQ(gpus[0].numa_node, 0);
  EXPECT_EQ(gpus[1].numa_node, 1);
  EXPECT_EQ(gpus[2].numa_node, 3);
  EXPECT_EQ(gpus[3].numa_node, 3);
  EXPECT_EQ(gpus[2].local_pus, t.numa_node(3)->pus);
  EXPECT_EQ(gpus[0].name, "NVIDIA A100-PCIE-40GB");

  const PciLocality loc = t.pci_locality("0000:c1:00.0");
  EXPECT_TRUE(loc.found);
  EXPECT_EQ(loc.numa_node, 3);
  EXPECT_EQ(t.pci_locality("c1:00.0").numa_node, 3);          // short form
  EXPECT_EQ(t.pci_locality("00000000:41:00.0").numa_node, 1);  // CUDA's 8-digit domain
  EXPECT_FALSE(t.pci_locality("0000:77:00.0").found);
  EXPECT_FALSE(t.pci_locality("not a bus id").found);
}

TEST(TopologyXml, WorkstationCountsOnlyTheNvidiaGpu) {
  Topology t = load_xml("workstation-1gpu.xml");
  EXPECT_EQ(t.packages().size(), 1u);
  EXPECT_EQ(t.cores().size(), 8u);
  EXPECT_EQ(t.pu_count(), 16);
  const std::vector<GpuInfo> gpus = t.topology_gpus();
  ASSERT_EQ(gpus.size(), 1u);  // the AMD integrated GPU (1002:164e) is not counted
  EXPECT_EQ(gpus[0].name, "NVIDIA GeForce RTX 4090");
  EXPECT_EQ(gpus[0].pci_bus_id, "0000:01:00.0");
  // Attached at the machine root, but the machine has one NUMA node.
  EXPECT_EQ(gpus[0].numa_node, 0);
  EXPECT_EQ(gpus[0].local_pus, range(0, 15));
}

TEST(TopologyXml, ShippedFilesPassLstopo) {
  if (std::system("command -v lstopo-no-graphics >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "lstopo-no-graphics (Debian package hwloc-nox) is not installed";
  for (const char* f : {"2s-xeon-8gpu.xml", "2s-epyc-nps2-4gpu.xml", "workstation-1gpu.xml"}) {
    const std::string cmd = "lstopo-no-graphics --input '" + topo_file(f) + "' >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << f;
  }
}

TEST(TopologyXml, MissingAndInvalidFilesNameTheFile) {
  Topology t;
  Status s = Topology::load_xml("/nonexistent/machine.xml", t);
  EXPECT_EQ(s.code(), Errc::io_error);
  EXPECT_NE(s.message().find("/nonexistent/machine.xml"), std::string::npos) << s.message();

  const std::string bad = ::testing::TempDir() + "/tandem_bad_topology.xml";
  { std::FILE* f = std::fopen(bad.c_str(), "w"); ASSERT_NE(f, nullptr); std::fputs("<topology>oops", f); std::fclose(f); }
  s = Topology::load_xml(bad, t);
  EXPECT_EQ(s.code(), Errc::format_error);
  EXPECT_NE(s.message().find(bad), std::string::npos) << s.message();
  std::remove(bad.c_str());

  s = Topology::load_xml(::testing::TempDir(), t);
  EXPECT_EQ(s.code(), Errc::io_error);
  EXPECT_FALSE(t.loaded());
}

TEST(TopologyXml, SyntheticHasNoGpusAndSaysWhy) {
  const GpuScan scan = find_gpus(load_synthetic("pack:1 core:2 pu:1"));
  EXPECT_TRUE(scan.gpus.empty());
  EXPECT_NE(scan.status.find("synthetic"), std::string::npos) << scan.status;
}

// ---------------------------------------------------------------------------
// This machine
// ---------------------------------------------------------------------------
TEST(TopologyThisMachine, LoadsAndCoversTheAffinityMask) {
  Topology t;
  ASSERT_TRUE(Topology::load_this_machine(t).ok());
  EXPECT_EQ(t.source(), TopologySource::this_machine);
  EXPECT_FALSE(t.cores().empty());
  EXPECT_GE(t.pu_count(), static_cast<int>(t.cores().size()));
  EXPECT_FALSE(t.numa_nodes().empty());
  EXPECT_FALSE(t.host().os_name.empty());
  // Every PU this process may run on (what `nproc` counts) is in the topology.
  cpu_set_t mask;
  CPU_ZERO(&mask);
  ASSERT_EQ(sched_getaffinity(0, sizeof mask, &mask), 0);
  std::vector<int> all;
  for (const CoreInfo& c : t.cores()) all.insert(all.end(), c.pus.begin(), c.pus.end());
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &mask)) EXPECT_NE(std::find(all.begin(), all.end(), cpu), all.end()) << "PU " << cpu;
  EXPECT_GE(t.pu_count(), CPU_COUNT(&mask));
}

// The same body runs on a GPU machine: there, every GPU must come with its
// properties and a locality; here, the list is empty with a reason.
TEST(TopologyThisMachine, GpusOrAReason) {
  Topology t;
  ASSERT_TRUE(Topology::load_this_machine(t).ok());
  const GpuScan scan = find_gpus(t);
  EXPECT_FALSE(scan.status.empty());
  if (cuda_device_count() == 0) {
    EXPECT_TRUE(scan.gpus.empty());
    EXPECT_NE(scan.status.find("no usable GPU"), std::string::npos) << scan.status;
    if (cuda_compiled()) EXPECT_NE(scan.status.find("CUDA"), std::string::npos) << scan.status;
    return;
  }
  ASSERT_EQ(static_cast<int>(scan.gpus.size()), cuda_device_count());
  for (const GpuInfo& g : scan.gpus) {
    EXPECT_FALSE(g.name.empty());
    EXPECT_GT(g.cc_major, 0);
    EXPECT_GT(g.sm_count, 0);
    EXPECT_GT(g.memory_total_bytes, 0u);
    EXPECT_GT(g.memory_free_bytes, 0u);
    EXPECT_LE(g.memory_free_bytes, g.memory_total_bytes);
    EXPECT_GT(g.memory_bandwidth_bytes_per_s(), 1e11) << g.name;
    EXPECT_EQ(g.pci_bus_id.size(), 12u) << g.pci_bus_id;
    EXPECT_EQ(g.source, "cuda-runtime");
    if (t.numa_nodes().size() == 1) EXPECT_EQ(g.numa_node, t.numa_nodes()[0].os_index);
  }
}

TEST(Binding, BindsTheCallingThreadOnly) {
  Topology t;
  ASSERT_TRUE(Topology::load_this_machine(t).ok());
  std::vector<int> before;
  ASSERT_TRUE(current_thread_pus(before).ok());
  ASSERT_FALSE(before.empty());
  const int target = before.back();
  std::vector<int> inside;
  Status bind_status, read_status;
  std::thread worker([&] {
    bind_status = bind_current_thread(std::vector<int>{target});
    read_status = current_thread_pus(inside);
  });
  worker.join();
  ASSERT_TRUE(bind_status.ok()) << bind_status.message();
  ASSERT_TRUE(read_status.ok()) << read_status.message();
  EXPECT_EQ(inside, std::vector<int>{target});
  std::vector<int> after;
  ASSERT_TRUE(current_thread_pus(after).ok());
  EXPECT_EQ(after, before);  // the test's own thread is untouched
}

TEST(Binding, RejectsUnknownOrEmptyPuLists) {
  EXPECT_EQ(bind_current_thread(std::vector<int>{}).code(), Errc::invalid_argument);
  const Status s = bind_current_thread(std::vector<int>{1 << 20});
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("1048576"), std::string::npos) << s.message();
}

// ---------------------------------------------------------------------------
// Small pieces
// ---------------------------------------------------------------------------
TEST(FormatIdList, CompactsRuns) {
  EXPECT_EQ(format_id_list(std::vector<int>{}), "");
  EXPECT_EQ(format_id_list(std::vector<int>{3}), "3");
  EXPECT_EQ(format_id_list(std::vector<int>{0, 1}), "0-1");
  EXPECT_EQ(format_id_list(std::vector<int>{0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_EQ(format_id_list(std::vector<int>{11, 10, 3, 3, 2}), "2-3,10-11");
}

TEST(GpuInfo, TheoreticalBandwidth) {
  GpuInfo g;
  EXPECT_EQ(g.memory_bandwidth_bytes_per_s(), 0.0);
  g.memory_clock_khz = 2619000;  // H100 SXM HBM3
  g.memory_bus_width_bits = 5120;
  EXPECT_NEAR(g.memory_bandwidth_bytes_per_s(), 3.352e12, 1e9);
}

TEST(TopologyValue, EmptyAndCopies) {
  Topology empty;
  EXPECT_FALSE(empty.loaded());
  EXPECT_TRUE(empty.cores().empty());
  EXPECT_EQ(empty.pu_count(), 0);
  EXPECT_EQ(empty.core(0), nullptr);
  EXPECT_TRUE(empty.topology_gpus().empty());
  Topology a = load_synthetic("pack:1 core:3 pu:1");
  Topology b = a;
  EXPECT_EQ(b.cores().size(), 3u);
  EXPECT_EQ(a.native_handle(), b.native_handle());
  Topology c = std::move(a);
  EXPECT_EQ(c.cores().size(), 3u);
}

}  // namespace
}  // namespace tandem
