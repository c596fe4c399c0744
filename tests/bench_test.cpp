// The bench library on tiny sizes (sane, positive numbers; valid JSON) and the
// CLI's usage errors. No timing assertions: this machine's speed says nothing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "host/bench.hpp"
#include "tandem/tandem.hpp"

namespace tandem::bench {
namespace {

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
  for (const char* k : {"op", "params", "device", "shape", "dtype", "skipped", "repeats", "median_s", "min_s",
                        "max_s", "rate", "rate_unit", "bytes", "gbps", "roof_gbps", "pct_roof"})
    EXPECT_TRUE(r0.contains(k)) << k;
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

std::string cli_stdout(const std::string& args, int* rc) {
  const std::string cmd = std::string(TANDEM_CLI) + " bench " + args + " 2>/dev/null";
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
  EXPECT_EQ(cli_exit("--device tpu"), 2);
  EXPECT_EQ(cli_exit("--op no_such_op"), 2);
  EXPECT_EQ(cli_exit("--size 12"), 2);
  EXPECT_EQ(cli_exit("--size 0x5"), 2);
  EXPECT_EQ(cli_exit("--dtype q7"), 2);
  EXPECT_EQ(cli_exit("--repeats 0"), 2);
  EXPECT_EQ(cli_exit("--channels 9"), 2);
  EXPECT_EQ(cli_exit("--op invert --params novalue"), 2);
  EXPECT_EQ(cli_exit("--params a=1"), 2);  // --params without --op
  EXPECT_EQ(cli_exit("--roof --no-roof"), 2);
  EXPECT_EQ(cli_exit("--frobnicate"), 2);
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

TEST(BenchCli, GpuRowsSkipWithANoteWithoutAGpu) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present";
  int rc = -1;
  const std::string out = cli_stdout("--op invert --device gpu --size 8x8 --channels 1 --json --no-roof", &rc);
  ASSERT_EQ(rc, 0);
  const auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["results"].size(), 1u);
  EXPECT_TRUE(j["results"][0]["skipped"].get<bool>());
}

}  // namespace
}  // namespace tandem::bench
