// `tandem info` as a user runs it: the built binary, its exit codes, help,
// error messages, the JSON schema (docs/info.md) and its speed without a GPU.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "host/core/sanitizers.hpp"
#include "host/core/simd.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

using nlohmann::json;

// Each named field is in `j` and of the kind its predicate (json::is_string, ...) accepts.
void expect_fields(const json& j, std::initializer_list<std::pair<const char*, bool (json::*)() const noexcept>> want) {
  for (const auto& [name, is] : want) EXPECT_TRUE(j.contains(name) && (j[name].*is)()) << "field '" << name << "'";
}

struct CliRun {
  int rc = -1;
  std::string out;
  std::string err;
  double seconds = 0;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs `tandem ARGS...` (with `env`, "NAME=value ...", added to its
/// environment), capturing stdout, stderr and the exit status.
CliRun tandem(const std::vector<std::string>& args, const std::string& env = "") {
  const std::string dir = ::testing::TempDir();
  // ctest runs test cases as parallel processes: each needs its own files.
  const std::string stem = dir + "/tandem_info_cli." + std::to_string(::getpid());
  const std::string out = stem + ".out", err = stem + ".err";
  std::string cmd = (env.empty() ? "" : "env " + env + " ") + quote(TANDEM_CLI_PATH);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + quote(out) + " 2>" + quote(err);
  CliRun r;
  const auto t0 = std::chrono::steady_clock::now();
  const int status = std::system(cmd.c_str());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::string topo(const std::string& name) { return test::data_dir() + "/topologies/" + name; }

json parse(const CliRun& r) {
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << r.out;
  return j;
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

/// The keys docs/info.md promises, with their types.
void check_schema(const json& j) {
  ASSERT_TRUE(j.is_object());
  for (const char* k : {"tandem", "source", "host", "cpu", "gpus", "gpu_status", "openmp", "simd", "placement"})
    EXPECT_TRUE(j.contains(k)) << "missing key " << k;
  EXPECT_TRUE(j["tandem"]["version"].is_string());
  EXPECT_TRUE(j["tandem"]["cuda_compiled"].is_boolean());
  EXPECT_TRUE(j["source"]["kind"].is_string());
  const json& cpu = j["cpu"];
  EXPECT_TRUE(cpu["cores"].is_number_integer());
  EXPECT_TRUE(cpu["pus"].is_number_integer());
  EXPECT_GE(cpu["pus"].get<int>(), cpu["cores"].get<int>());
  EXPECT_GT(cpu["cores"].get<int>(), 0);
  ASSERT_TRUE(cpu["numa_nodes"].is_array());
  EXPECT_FALSE(cpu["numa_nodes"].empty());
  for (const json& n : cpu["numa_nodes"]) {
    expect_fields(n, {{"os_index", &json::is_number_integer}, {"local_memory_bytes", &json::is_number_unsigned},
                      {"cores", &json::is_array}, {"pus", &json::is_array}});
  }
  ASSERT_TRUE(cpu["packages"].is_array());
  ASSERT_TRUE(cpu["core_list"].is_array());
  EXPECT_EQ(cpu["core_list"].size(), cpu["cores"].get<std::size_t>());
  ASSERT_TRUE(cpu["caches"].is_array());
  for (const json& c : cpu["caches"]) {
    expect_fields(c, {{"level", &json::is_number_integer}, {"size_bytes", &json::is_number_unsigned},
                      {"type", &json::is_string}, {"count", &json::is_number_integer},
                      {"cores_sharing", &json::is_number_integer}});
  }
  ASSERT_TRUE(j["gpus"].is_array());
  for (const json& g : j["gpus"]) {
    for (const char* k : {"index", "name", "compute_capability", "sm_count", "memory_total_bytes",
                          "memory_free_bytes", "memory_bus_width_bits", "memory_clock_khz",
                          "memory_bandwidth_bytes_per_s", "pci_bus_id", "numa_node", "local_pus", "source"})
      EXPECT_TRUE(g.contains(k)) << "gpu misses " << k;
  }
  ASSERT_TRUE(j["gpu_status"].is_string());
  if (j["gpus"].empty()) EXPECT_FALSE(j["gpu_status"].get<std::string>().empty());
  EXPECT_TRUE(j["openmp"].is_object() || j["openmp"].is_null());
  EXPECT_TRUE(j["simd"].is_object() || j["simd"].is_null());
  const json& p = j["placement"];
  ASSERT_TRUE(p["cpu_teams"].is_array());
  EXPECT_FALSE(p["cpu_teams"].empty());
  for (const json& t : p["cpu_teams"]) {
    ASSERT_TRUE(t["cores"].is_array());
    EXPECT_FALSE(t["cores"].empty());
    EXPECT_TRUE(t["pus"].is_array());
    EXPECT_TRUE(t["slots"].is_array());
    EXPECT_EQ(t["threads"].get<std::size_t>(), t["slots"].size());
  }
  ASSERT_TRUE(p["gpu_workers"].is_array());
  EXPECT_EQ(p["gpu_workers"].size(), j["gpus"].size());
  for (const json& w : p["gpu_workers"]) {
    expect_fields(w, {{"gpu", &json::is_number_integer}, {"core", &json::is_number_integer}, {"pus", &json::is_array},
                      {"dedicated", &json::is_boolean}});
  }
  ASSERT_TRUE(p["io_workers"].is_array());
  EXPECT_TRUE(p["notes"].is_array());
  EXPECT_TRUE(p["options"].is_object());
}

// ---------------------------------------------------------------------------
TEST(InfoCli, HelpTeachesWithExamples) {
  const CliRun r = tandem({"info", "--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--synthetic"), std::string::npos);
  EXPECT_NE(r.out.find("--topology"), std::string::npos);
  EXPECT_NE(r.out.find("--json"), std::string::npos);
  EXPECT_NE(r.out.find("NUMA node"), std::string::npos);  // the placement rules
  EXPECT_TRUE(r.err.empty()) << r.err;
}

// TANDEM_SIMD caps the target the kernels use; `info` reports the cap and the
// target under it; a value that names no target is refused with the accepted ones.
TEST(InfoCli, SimdTargetFollowsTheCap) {
  const std::vector<std::string> supported = simd_supported_targets();
  ASSERT_FALSE(supported.empty());
  CliRun r = tandem({"info", "--json"}, "TANDEM_SIMD=scalar");
  ASSERT_EQ(r.rc, 0) << r.err;
  json j = parse(r);
  EXPECT_EQ(j["simd"]["target"], supported.back());
  EXPECT_EQ(j["simd"]["cap"], "scalar");
  EXPECT_EQ(j["simd"]["supported"].get<std::vector<std::string>>(), supported);
  if (std::find(supported.begin(), supported.end(), "AVX2") != supported.end()) {
    r = tandem({"info"}, "TANDEM_SIMD=avx2");
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("SIMD      AVX2 (supported:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("TANDEM_SIMD=avx2)"), std::string::npos) << r.out;
  }
  r = tandem({"info"}, "TANDEM_SIMD=avx9000");
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("TANDEM_SIMD='avx9000'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("accepted values: best,"), std::string::npos) << r.err;
}

TEST(InfoCli, JsonSchemaOnThisMachine) {
  const CliRun r = tandem({"info", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const json j = parse(r);
  check_schema(j);
  EXPECT_EQ(j["source"]["kind"], "this_machine");
  ASSERT_TRUE(j["openmp"].is_object());
  EXPECT_GT(j["openmp"]["max_threads"].get<int>(), 0);
  EXPECT_TRUE(j["openmp"]["places"].is_array());
  ASSERT_TRUE(j["simd"].is_object());
  EXPECT_EQ(j["simd"]["target"], simd_target_name());
  EXPECT_EQ(j["simd"]["supported"].get<std::vector<std::string>>(), simd_supported_targets());
  EXPECT_EQ(j["simd"]["cap"], "best");
  EXPECT_TRUE(j["host"]["hostname"].is_string());
  // The same counts the library sees.
  Topology t;
  ASSERT_TRUE(Topology::load_this_machine(t).ok());
  EXPECT_EQ(j["cpu"]["cores"].get<std::size_t>(), t.cores().size());
  EXPECT_EQ(j["cpu"]["pus"].get<int>(), t.pu_count());
  EXPECT_EQ(j["cpu"]["numa_nodes"].size(), t.numa_nodes().size());
  EXPECT_EQ(j["tandem"]["cuda_compiled"].get<bool>(), cuda_compiled());
  if (cuda_device_count() == 0) {
    EXPECT_TRUE(j["gpus"].empty());
    const std::string status = j["gpu_status"];
    EXPECT_NE(status.find("no usable GPU"), std::string::npos) << status;
    // With CUDA compiled in, the runtime's own words are passed on.
    if (cuda_compiled()) EXPECT_NE(status.find("CUDA runtime"), std::string::npos) << status;
  } else {
    EXPECT_EQ(static_cast<int>(j["gpus"].size()), cuda_device_count());
    for (const json& g : j["gpus"]) {
      expect_fields(g, {{"compute_capability", &json::is_string}, {"sm_count", &json::is_number_integer},
                        {"memory_total_bytes", &json::is_number_integer},
                        {"memory_bandwidth_bytes_per_s", &json::is_number}, {"pci_bus_id", &json::is_string},
                        {"numa_node", &json::is_number_integer}});
    }
  }
}

TEST(InfoCli, FastWithoutAGpu) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: creating CUDA contexts takes its time";
  if (detail::kUnderAddressSanitizer || detail::kUnderThreadSanitizer)
    GTEST_SKIP() << "a sanitizer build runs several times slower: the time says nothing about tandem";
  // Wall time on a busy CI box is mostly waiting for a core, so take the best
  // of up to 10 runs; the CPU time the run itself used must be small too.
  double best_wall = 1e9, best_cpu = 1e9;
  for (int i = 0; i < 10 && best_wall >= 0.1; ++i) {
    rusage before{}, after{};
    getrusage(RUSAGE_CHILDREN, &before);
    const CliRun r = tandem({"info", "--json"});
    getrusage(RUSAGE_CHILDREN, &after);
    ASSERT_EQ(r.rc, 0) << r.err;
    auto secs = [](const timeval& a, const timeval& b) {
      return static_cast<double>(b.tv_sec - a.tv_sec) + 1e-6 * static_cast<double>(b.tv_usec - a.tv_usec);
    };
    const double cpu = secs(before.ru_utime, after.ru_utime) + secs(before.ru_stime, after.ru_stime);
    best_wall = std::min(best_wall, r.seconds);
    best_cpu = std::min(best_cpu, cpu);
  }
  EXPECT_LT(best_wall, 0.1) << "tandem info took " << best_wall * 1e3 << " ms at best (shell start included)";
  EXPECT_LT(best_cpu, 0.1) << "tandem info used " << best_cpu * 1e3 << " ms of CPU";
}

TEST(InfoCli, TextFitsEightyColumns) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"info"}, {"info", "--topology", topo("2s-xeon-8gpu.xml")},
        {"info", "--topology", topo("2s-epyc-nps2-4gpu.xml"), "--io", "numa"},
        {"info", "--topology", topo("workstation-1gpu.xml")},
        {"info", "--synthetic", "pack:1 numa:1 core:3 pu:1"}}) {
    const CliRun r = tandem(args);
    ASSERT_EQ(r.rc, 0) << r.err;
    for (const char* section : {"Host", "CPU", "Machine", "GPUs", "Placement"})
      EXPECT_NE(r.out.find(section), std::string::npos) << section << " missing from\n" << r.out;
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
      // A single word longer than a line (a file's path) cannot be wrapped.
      const bool one_word = line.find(' ', line.find_first_not_of(' ')) == std::string::npos;
      if (!one_word) EXPECT_LE(line.size(), 80u) << "too wide: " << line;
    }
  }
}

TEST(InfoCli, XmlTopologyReportsGpusAndPlan) {
  const CliRun r = tandem({"info", "--json", "--topology", topo("2s-xeon-8gpu.xml")});
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = parse(r);
  check_schema(j);
  EXPECT_EQ(j["source"]["kind"], "xml");
  EXPECT_TRUE(j["openmp"].is_null());  // OpenMP is this process's, not that machine's
  EXPECT_TRUE(j["simd"].is_null());    // and so is the SIMD target
  EXPECT_EQ(j["host"]["hostname"], "hgx-h100");
  EXPECT_EQ(j["cpu"]["cores"], 32);
  EXPECT_EQ(j["cpu"]["pus"], 64);
  ASSERT_EQ(j["gpus"].size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) {
    const json& g = j["gpus"][i];
    const json& w = j["placement"]["gpu_workers"][i];
    EXPECT_EQ(g["numa_node"], static_cast<int>(i / 4));
    EXPECT_EQ(w["numa_node"], g["numa_node"]);
    EXPECT_TRUE(w["dedicated"].get<bool>());
    EXPECT_TRUE(g["compute_capability"].is_null());
  }
  EXPECT_EQ(j["placement"]["cpu_teams"][0]["cores"].size(), 12u);
}

TEST(InfoCli, SyntheticTopology) {
  const CliRun r = tandem({"info", "--json", "--synthetic", "pack:2 numa:1 core:4 pu:2", "--smt"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = parse(r);
  check_schema(j);
  EXPECT_EQ(j["source"]["kind"], "synthetic");
  EXPECT_EQ(j["cpu"]["cores"], 8);
  EXPECT_EQ(j["cpu"]["pus"], 16);
  EXPECT_EQ(j["cpu"]["numa_nodes"].size(), 2u);
  EXPECT_TRUE(j["gpus"].empty());
  EXPECT_NE(j["gpu_status"].get<std::string>().find("synthetic"), std::string::npos);
  EXPECT_EQ(j["placement"]["cpu_teams"].size(), 2u);
  EXPECT_EQ(j["placement"]["cpu_teams"][1]["cores"], json({4, 5, 6, 7}));
  EXPECT_EQ(j["placement"]["cpu_teams"][1]["threads"], 8);  // --smt
  EXPECT_EQ(j["placement"]["options"]["smt"], true);
}

// Usage errors: exit 2, nothing on stdout, the reason on stderr naming the
// culprit, then a hint.
void expect_usage_error(const std::vector<std::string>& args, const std::string& culprit) {
  const CliRun r = tandem(args);
  EXPECT_EQ(r.rc, 2) << r.out << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(count_lines(r.err), 2) << r.err;
  EXPECT_EQ(r.err.rfind("tandem", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(culprit), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--help"), std::string::npos) << r.err;
}

TEST(InfoCli, UsageErrors) {
  expect_usage_error({"info", "--synthetic", "pack:2 numa:1 core:bad"}, "pack:2 numa:1 core:bad");
  expect_usage_error({"info", "--synthetic", ""}, "synthetic");
  expect_usage_error({"info", "--topology", "/nonexistent/m.xml"}, "/nonexistent/m.xml");
  const std::string bad = ::testing::TempDir() + "/tandem_info_cli_bad.xml";
  { std::ofstream(bad) << "<topology><object type=\"Machine\">"; }
  expect_usage_error({"info", "--topology", bad}, bad);
  std::remove(bad.c_str());
  expect_usage_error({"info", "--no-such-flag"}, "--no-such-flag");
  expect_usage_error({"info", "--synthetic", "pack:1 core:1 pu:1", "--topology", topo("workstation-1gpu.xml")},
                     "--topology");
  expect_usage_error({"info", "--io", "socket"}, "socket");
  // --measure measures this machine, so it cannot go with another machine's description.
  expect_usage_error({"info", "--measure", "--synthetic", "pack:1 core:2"}, "--measure");
}

// --measure adds the roof `tandem bench --roof` measures: a bound STREAM copy
// and triad per NUMA node, and the GPUs' copies and SGEMM (or why none).
TEST(InfoCli, MeasureAddsTheRoof) {
  const CliRun r = tandem({"info", "--measure", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const json j = parse(r);
  check_schema(j);
  ASSERT_TRUE(j["measured"].is_object()) << r.out;
  const json& host = j["measured"]["host"];
  ASSERT_FALSE(host.empty());
  Topology t;
  ASSERT_TRUE(Topology::load_this_machine(t).ok());
  EXPECT_EQ(host.size(), std::max<std::size_t>(1, t.numa_nodes().size()));
  for (const json& h : host) {
    EXPECT_GT(h["copy_gbps"].get<double>(), 0.1);
    EXPECT_GT(h["triad_gbps"].get<double>(), 0.1);
    EXPECT_GT(h["threads"].get<int>(), 0);
  }
  if (cuda_device_count() == 0) {
    EXPECT_TRUE(j["measured"]["gpu"].empty());
    EXPECT_FALSE(j["measured"]["gpu_note"].get<std::string>().empty());
  } else {
    EXPECT_EQ(static_cast<int>(j["measured"]["gpu"].size()), cuda_device_count());
  }
  // Without --measure there is no such key (the report stays fast).
  const CliRun plain = tandem({"info", "--json"});
  ASSERT_EQ(plain.rc, 0);
  EXPECT_FALSE(parse(plain).contains("measured"));
}

}  // namespace
}  // namespace tandem
