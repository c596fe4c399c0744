// The bench library on tiny sizes (sane, positive numbers; valid JSON) and the
// CLI's usage errors. No timing assertions: this machine's speed says nothing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "cli/tools/bench.hpp"
#include "cli/tools/bench_pipeline.hpp"
#include "host/core/simd.hpp"
#include "cli/tools/format.hpp"
#include "tandem/tandem.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/test_support.hpp"

namespace tandem::bench {
namespace {

// The one byte formatter behind `tandem info`, `tandem run` and `tandem bench`.
TEST(ToolsFormat, HumanBytesKeepsOneDecimalOnlyWhereItSaysSomething) {
  using tools::human_bytes;
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(64.0 * (1ull << 30)), "64 GiB");
  EXPECT_EQ(human_bytes(1024.0 * 1024 - 1), "1024 KiB");  // rounds whole, no "1024.0"
  EXPECT_EQ(human_bytes(123.4 * (1 << 20)), "123 MiB");
  EXPECT_EQ(human_bytes(2.0 * (1ull << 50)), "2048 TiB");
  EXPECT_EQ(human_bytes(-1), "-");
}

TEST(ToolsFormat, SecondsSinceCountsForward) {
  const auto t0 = tools::Clock::now() - std::chrono::milliseconds(50);
  const double s = tools::seconds_since(t0);
  EXPECT_GE(s, 0.05);
  EXPECT_LT(s, 60.0);
}

Roof tiny_roof() {
  RoofOptions o;
  o.host_array_bytes = 1 << 20;
  o.repeats = 1;
  o.gpu_bytes = 1 << 20;
  o.sgemm_n = 64;
  Roof roof;
  EXPECT_TRUE(measure_roof(o, roof).ok());
  return roof;
}

void expect_sane(const Result& r) {
  ASSERT_FALSE(r.skipped) << r.op << " " << r.shape << ": " << r.note;
  EXPECT_GT(r.median_s, 0) << r.op;
  EXPECT_LE(r.min_s, r.median_s) << r.op;
  EXPECT_GE(r.max_s, r.median_s) << r.op;
  EXPECT_GT(r.rate, 0) << r.op;
  EXPECT_TRUE(std::isfinite(r.rate)) << r.op;
  EXPECT_GT(r.bytes, 0) << r.op;
  EXPECT_GT(r.gbps, 0) << r.op;
  EXPECT_FALSE(r.rate_unit.empty()) << r.op;
}

TEST(BenchRoof, HostBandwidthIsPositive) {
  const Roof roof = tiny_roof();
  ASSERT_FALSE(roof.host.empty());
  for (const auto& h : roof.host) {
    EXPECT_GT(h.threads, 0);
    EXPECT_GE(h.array_bytes, std::size_t(1) << 20);
    EXPECT_GT(h.copy_gbps, 0);
    EXPECT_GT(h.triad_gbps, 0);
    EXPECT_TRUE(std::isfinite(h.copy_gbps));
  }
  EXPECT_GT(roof.host_copy_gbps(), 0);
  if (cuda_device_count() == 0) {
    EXPECT_TRUE(roof.gpu.empty());
    EXPECT_FALSE(roof.gpu_note.empty());
  } else {
    ASSERT_EQ(int(roof.gpu.size()), cuda_device_count());
    EXPECT_GT(roof.gpu[0].d2d_gbps, 0) << roof.gpu[0].note;
    EXPECT_GT(roof.gpu[0].h2d_gbps, 0) << roof.gpu[0].note;
    EXPECT_GT(roof.gpu[0].sgemm_gflops, 0) << roof.gpu[0].note;
  }
}

TEST(BenchKernels, EveryOpRunsOnTinyInputs) {
  const Roof roof = tiny_roof();
  MatrixOptions mo;
  mo.devices = {Device::cpu()};
  if (cuda_compiled()) mo.devices.push_back(Device::cuda(0));
  mo.width = 19;
  mo.height = 11;
  mo.elements = 1000;
  mo.matmul_n = 16;
  const auto cases = default_cases(mo);
  ASSERT_FALSE(cases.empty());
  Options o;
  o.warmup = 1;
  o.repeats = 3;
  for (const auto& c : cases) {
    const Result r = run_case(c, o, roof);
    if (c.device.is_cuda() && cuda_device_count() == 0) {
      EXPECT_TRUE(r.skipped) << r.op;
      EXPECT_NE(r.note.find("no GPU"), std::string::npos) << r.note;
      continue;
    }
    expect_sane(r);
    EXPECT_EQ(r.repeats, 3);
    if (r.op != "matmul") {
      EXPECT_GT(r.roof_gbps, 0) << r.op;
      EXPECT_GT(r.pct_roof, 0) << r.op;
    }
  }
}

TEST(BenchKernels, EveryTableOpIsInTheDefaultMatrix) {
  const auto cases = default_cases(MatrixOptions{});
  for (const OpSpec* s : op_table()) {
    bool found = false;
    for (const auto& c : cases) found = found || c.op == s->name;
    EXPECT_TRUE(found) << s->name;
  }
}

TEST(BenchKernels, ImageOpsGetGrayAndRgbByDefault) {
  MatrixOptions mo;
  mo.only_op = "invert";
  const auto cases = default_cases(mo);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(shape_text(cases[0].shape), "4096x4096");
  EXPECT_EQ(shape_text(cases[1].shape), "4096x4096x3");
  EXPECT_EQ(cases[0].dtype, DType::u8);
}

TEST(BenchKernels, MatmulReportsFlops) {
  Case c{"matmul", "", Device::cpu(), {8, 12}, DType::f32};
  const Result r = run_case(c, Options{1, 2, 0}, Roof{});
  expect_sane(r);
  EXPECT_EQ(r.rate_unit, "GFLOP/s");
  EXPECT_DOUBLE_EQ(r.items, 2.0 * 8 * 12 * 12);
  EXPECT_DOUBLE_EQ(r.bytes, 4.0 * (8 * 12 + 12 * 12 + 8 * 12));
}

TEST(BenchKernels, BytesCountInputAndOutput) {
  Case c{"invert", "", Device::cpu(), {7, 5, 3}, DType::u8};
  const Result r = run_case(c, Options{1, 1, 1}, Roof{});
  expect_sane(r);
  EXPECT_DOUBLE_EQ(r.bytes, 2.0 * 7 * 5 * 3);
  EXPECT_DOUBLE_EQ(r.items, 35.0);
  EXPECT_EQ(r.rate_unit, "Mpix/s");
  EXPECT_LT(r.pct_roof, 0);  // no roof measured
}

TEST(BenchKernels, ProblemsComeBackAsSkippedRows) {
  const Result missing = run_case({"no_such_op", "", Device::cpu(), {4, 4}, DType::u8}, Options{}, Roof{});
  EXPECT_TRUE(missing.skipped);
  EXPECT_NE(missing.note.find("no_such_op"), std::string::npos);
  const Result bad = run_case({"threshold", "value=abc", Device::cpu(), {4, 4}, DType::u8}, Options{}, Roof{});
  EXPECT_TRUE(bad.skipped);
  EXPECT_NE(bad.note.find("value"), std::string::npos) << bad.note;
  const Result token = run_case({"invert", "oops", Device::cpu(), {4, 4}, DType::u8}, Options{}, Roof{});
  EXPECT_TRUE(token.skipped);
  EXPECT_NE(token.note.find("oops"), std::string::npos) << token.note;
}

TEST(BenchKernels, ParamsMergeDefaultsAndOverrides) {
  EXPECT_EQ(bench_params("resize", {100, 60}), "width=30 height=50");
  EXPECT_EQ(bench_params("gaussian", {8, 8}), "sigma=2");
  EXPECT_EQ(bench_params("invert", {8, 8}), "");
  const Result r = run_case({"threshold", "value=7", Device::cpu(), {4, 4}, DType::u8}, Options{1, 1, 0}, Roof{});
  expect_sane(r);
  EXPECT_EQ(r.params, "value=7");
}

TEST(BenchKernels, ParseKv) {
  std::vector<std::pair<std::string, std::string>> kv;
  ASSERT_TRUE(parse_kv("  a=1   b=x,y;z ", kv).ok());
  ASSERT_EQ(kv.size(), 2u);
  EXPECT_EQ(kv[1].first, "b");
  EXPECT_EQ(kv[1].second, "x,y;z");
  EXPECT_FALSE(parse_kv("a=1 =2", kv).ok());
  EXPECT_FALSE(parse_kv("novalue", kv).ok());
}

TEST(BenchJson, HasTheDocumentedFields) {
  const Roof roof = tiny_roof();
  std::vector<Result> rows;
  rows.push_back(run_case({"invert", "", Device::cpu(), {9, 9}, DType::u8}, Options{1, 2, 0}, roof));
  rows.push_back(run_case({"no_such_op", "", Device::cpu(), {9, 9}, DType::u8}, Options{}, roof));
  const auto j = nlohmann::json::parse(to_json(roof, rows));
  ASSERT_TRUE(j.contains("roof"));
  ASSERT_TRUE(j["roof"]["host"].is_array());
  EXPECT_GT(j["roof"]["host"][0]["copy_gbps"].get<double>(), 0);
  ASSERT_EQ(j["results"].size(), 2u);
  const auto& r0 = j["results"][0];
  for (const char* k : {"op", "params", "device", "shape", "dtype", "simd", "skipped", "repeats", "median_s",
                        "min_s", "max_s", "rate", "rate_unit", "bytes", "gbps", "roof_gbps", "pct_roof"})
    EXPECT_TRUE(r0.contains(k)) << k;
  EXPECT_EQ(r0["simd"], simd_target_name());  // the target the CPU kernels ran on
  EXPECT_FALSE(r0["skipped"].get<bool>());
  EXPECT_GT(r0["median_s"].get<double>(), 0);
  EXPECT_TRUE(j["results"][1]["skipped"].get<bool>());
  EXPECT_FALSE(j["results"][1]["note"].get<std::string>().empty());
}

// --- the CLI -----------------------------------------------------------------

int cli_exit(const std::string& args) {
  const std::string cmd = std::string(TANDEM_CLI) + " bench " + args + " >/dev/null 2>&1";
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string cli_stdout(const std::string& args, int* rc, const std::string& env = "") {
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + std::string(TANDEM_CLI) + " bench " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

TEST(BenchCli, UsageErrorsExit2) {
  for (const char* args : {"--device tpu", "--op no_such_op", "--size 12", "--size 0x5", "--dtype q7", "--repeats 0",
                           "--channels 9", "--op invert --params novalue", "--params a=1" /* without --op */,
                           "--roof --no-roof", "--frobnicate"})
    EXPECT_EQ(cli_exit(args), 2) << args;
}

TEST(BenchCli, TinyRunPrintsJson) {
  int rc = -1;
  const std::string out = cli_stdout("--op invert --size 16x8 --repeats 2 --warmup 1 --json --no-roof", &rc);
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  ASSERT_GE(j["results"].size(), 2u);  // gray and RGB on the CPU (+ GPU rows)
  EXPECT_EQ(j["results"][0]["op"], "invert");
  EXPECT_EQ(j["results"][0]["device"], "cpu");
  EXPECT_EQ(j["results"][0]["shape"], "8x16");
}

// Every figure records the SIMD target it was measured on, capped by TANDEM_SIMD.
TEST(BenchCli, FiguresRecordTheSimdTargetAndItsCap) {
  int rc = -1;
  const std::string args = "--op invert --size 16x8 --channels 1 --repeats 1 --warmup 1 --json --no-roof";
  auto j = nlohmann::json::parse(cli_stdout(args, &rc));
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(j["results"][0]["simd"], simd_target_name());
  j = nlohmann::json::parse(cli_stdout(args, &rc, "TANDEM_SIMD=scalar"));
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(j["results"][0]["simd"], detail::simd_target_name(detail::simd_target_bits().back()));
  cli_stdout(args, &rc, "TANDEM_SIMD=avx9000");
  EXPECT_EQ(rc, 2);
}

TEST(BenchCli, GpuRowsSkipWithANoteWithoutAGpu) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
  int rc = -1;
  const std::string out = cli_stdout("--op invert --device gpu --size 8x8 --channels 1 --json --no-roof", &rc);
  ASSERT_EQ(rc, 0);
  const auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["results"].size(), 1u);
  EXPECT_TRUE(j["results"][0]["skipped"].get<bool>());
}

// --- bench --pipeline -----------------------------------------------------------

namespace fs = std::filesystem;

// A private, empty directory for temporaries (TMPDIR of the child), removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    path_ = fs::temp_directory_path() / ("tandem-bench-test-" + std::to_string(::getpid()) + "-" + std::to_string(n_++));
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_); }
  [[nodiscard]] const fs::path& path() const { return path_; }
  [[nodiscard]] bool empty() const { return fs::is_empty(path_); }

 private:
  fs::path path_;
  static inline int n_ = 0;
};

std::string image(const char* name) { return test::data_dir() + "/images/" + name; }

void expect_sane(const nlohmann::json& j, std::size_t items, int repeats) {
  EXPECT_EQ(j["items"].get<std::size_t>(), items);
  EXPECT_EQ(j["repeats"].get<int>(), repeats);
  EXPECT_GE(j["cores"].get<int>(), 1);
  ASSERT_EQ(j["stages"].size(), 4u);
  std::set<std::string> names;
  for (const auto& st : j["stages"]) {
    const std::string name = st["name"].get<std::string>();
    names.insert(name.substr(0, name.find(' ')));
    EXPECT_EQ(st["runs_seconds"].size(), std::size_t(repeats)) << name;
    EXPECT_GT(st["seconds"].get<double>(), 0) << name;
    EXPECT_GT(st["items_per_second"].get<double>(), 0) << name;
    EXPECT_TRUE(std::isfinite(st["items_per_second"].get<double>())) << name;
    EXPECT_GT(st["bytes_in"].get<double>(), 0) << name;
    EXPECT_GT(st["mb_per_second"].get<double>(), 0) << name;
    EXPECT_GE(st["threads"].get<int>(), 1) << name;
    EXPECT_FALSE(st["workers"].get<std::string>().empty()) << name;
    EXPECT_GE(st["cpu_seconds"].get<double>(), 0) << name;
    EXPECT_GT(st["busy_seconds"].get<double>(), 0) << name;
    EXPECT_GE(st["batch_busy_seconds"].get<double>(), 0) << name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"read", "decode", "compute", "encode+write"}));
  bool slowest_is_a_stage = false;
  for (const auto& st : j["stages"]) slowest_is_a_stage = slowest_is_a_stage || st["name"] == j["slowest_stage"];
  EXPECT_TRUE(slowest_is_a_stage) << j["slowest_stage"];
  const auto& b = j["batch"];
  EXPECT_EQ(b["runs_seconds"].size(), std::size_t(repeats));
  EXPECT_GT(b["seconds"].get<double>(), 0);
  EXPECT_GT(b["items_per_second"].get<double>(), 0);
  EXPECT_GT(b["mb_per_second"].get<double>(), 0);
  EXPECT_GT(b["busy_seconds"].get<double>(), 0);
  EXPECT_GT(b["core_use"].get<double>(), 0);
  EXPECT_TRUE(b["cpu_overhead"].is_number());
  std::size_t per_device = 0;
  for (const auto& [dev, count] : b["items_per_device"].items()) per_device += count.get<std::size_t>();
  EXPECT_EQ(per_device, items);
  const double eff = j["overlap_efficiency"].get<double>();
  EXPECT_GT(eff, 0);
  EXPECT_TRUE(std::isfinite(eff));
  const auto& rb = j["resource_bound"];
  EXPECT_GT(rb["seconds"].get<double>(), 0);
  EXPECT_GT(rb["efficiency"].get<double>(), 0);
  EXPECT_GT(rb["cpu_work_seconds"].get<double>(), 0);
  EXPECT_TRUE(j["notes"].is_array());
  for (const char* k : {"files", "decoded", "results", "outputs"}) EXPECT_GT(j["bytes"][k].get<double>(), 0) << k;
}

TEST(BenchPipeline, LibraryCountsItemsAndPasses) {
  ScratchDir tmp;
  const std::vector<std::string> files{image("camera.png"), image("coins.png")};
  Pipeline p;
  ASSERT_TRUE(Pipeline::parse("invert", p).ok());
  PipelineBenchOptions o;
  o.inputs = files;
  o.device = DeviceChoice::cpu;
  o.repeats = 2;
  o.temp_root = tmp.path().string();
  PipelineBenchResult r;
  const Status s = run_pipeline_bench(p, o, r);
  ASSERT_TRUE(s.ok()) << s.message();
  expect_sane(nlohmann::json::parse(to_json(r)), 2, 2);
  EXPECT_EQ(r.file_bytes, fs::file_size(files[0]) + fs::file_size(files[1]));
  EXPECT_EQ(r.decoded_bytes, 512u * 512 + 303u * 384);
  EXPECT_EQ(r.result_bytes, r.decoded_bytes);  // invert keeps the shape
  EXPECT_EQ(r.stages[r.slowest].seconds, std::max({r.stages[0].seconds, r.stages[1].seconds, r.stages[2].seconds,
                                                   r.stages[3].seconds}));
  EXPECT_NEAR(r.efficiency, r.batch.items_per_s / r.stages[r.slowest].items_per_s, 1e-9);
  EXPECT_GE(r.bound_seconds, r.stages[r.slowest].seconds);
  EXPECT_TRUE(tmp.empty()) << "temporary outputs left behind";
}

TEST(BenchPipeline, FailingInputsAreAnError) {
  ScratchDir tmp;
  Pipeline p;
  ASSERT_TRUE(Pipeline::parse("invert", p).ok());
  PipelineBenchOptions o;
  o.inputs = {image("camera.png"), test::data_dir() + "/broken/truncated.jpg"};
  o.device = DeviceChoice::cpu;
  o.repeats = 1;
  o.temp_root = tmp.path().string();
  PipelineBenchResult r;
  const Status s = run_pipeline_bench(p, o, r);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("truncated.jpg"), std::string::npos) << s.message();
  EXPECT_TRUE(tmp.empty());
}

TEST(BenchPipelineCli, JsonOnBundledImages) {
  ScratchDir tmp;
  int rc = -1;
  const std::string out = cli_stdout("--pipeline \"gaussian sigma=2 | sobel\" --repeats 1 --json " + image("camera.png") +
                                         " " + image("coins.png") + " " + image("rocket.jpg"),
                                     &rc, "TMPDIR=" + tmp.path().string());
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["pipeline"], "gaussian sigma=2 | sobel");
  EXPECT_EQ(j["device"], "auto");
  expect_sane(j, 3, 1);
  EXPECT_EQ(j["bytes"]["files"].get<std::uint64_t>(),
            fs::file_size(image("camera.png")) + fs::file_size(image("coins.png")) + fs::file_size(image("rocket.jpg")));
  EXPECT_TRUE(tmp.empty()) << "temporary outputs left behind";
}

TEST(BenchPipelineCli, DefaultInputsAreTheBundledPhotos) {
  std::size_t photos = 0;
  for (const auto& e : fs::directory_iterator(test::data_dir() + "/images")) {
    const std::string ext = e.path().extension().string();
    photos += ext == ".png" || ext == ".jpg";
  }
  ASSERT_GT(photos, 0u);
  ScratchDir tmp;
  int rc = -1;
  const std::string out = cli_stdout("--pipeline invert --device cpu --repeats 1 --json", &rc,
                                     "TANDEM_DATA_DIR=" + test::data_dir() + " TMPDIR=" + tmp.path().string());
  ASSERT_EQ(rc, 0) << out;
  expect_sane(nlohmann::json::parse(out), photos, 1);
  EXPECT_TRUE(tmp.empty());
}

TEST(BenchPipelineCli, UsageErrorsExit2) {
  const std::vector<std::string> usage_errors = {
      "--pipeline \"gaussian sigma=2 | nope\"", "--pipeline \"gaussian sigma=-1\"", "--pipeline \"\"",
      "--pipeline invert --op invert", "--pipeline invert --roof", "--pipeline invert --size 8x8",
      image("camera.png") /* inputs without --pipeline */, "--glob '*.png'"};
  for (const std::string& args : usage_errors) EXPECT_EQ(cli_exit(args), 2) << args;
  EXPECT_EQ(cli_exit("--pipeline invert --device cpu /no/such/dir"), 1);  // its one input fails
}

TEST(BenchPipelineCli, FailingInputExits1AndNamesIt) {
  const test::CommandResult r = test::run_command({TANDEM_CLI, "bench", "--pipeline", "invert", "--device", "cpu",
                                                   "--repeats", "1", test::data_dir() + "/broken/truncated.jpg"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("truncated.jpg"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tandem::bench
