// `tandem bench`: times ops through the op table on each device (median of
// repeats; CUDA events with data resident on the GPU) and prints effective
// bandwidth as a share of the machine's measured roof; `--roof` reports that
// roof (STREAM copy/triad per NUMA node; per GPU: device copy, pinned
// host<->device copy, cuBLAS SGEMM).
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>

#include "cli/commands.hpp"
#include "host/bench.hpp"
#include "tandem/op_table.hpp"

namespace tandem::cli {

namespace {

struct BenchOpts {
  std::string op;
  std::string params;
  std::string device;  // "", "cpu", "gpu"
  std::string size;    // "WxH"
  int channels = 0;    // 0: gray and RGB
  std::string dtype;
  std::int64_t elements = 10'000'000;
  int repeats = 10;
  int warmup = 2;
  int threads = 0;
  bool json = false;
  bool roof = false;
  bool no_roof = false;
};

int usage_error(const std::string& msg) {
  std::cerr << "tandem bench: " << msg << "\nTry 'tandem bench --help' for usage.\n";
  return 2;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string time_text(double s) {
  if (s < 1e-3) return fmt("%.1f us", s * 1e6);
  if (s < 1.0) return fmt("%.2f ms", s * 1e3);
  return fmt("%.3f s", s);
}

void print_roof(const bench::Roof& roof) {
  std::printf("host memory (STREAM, best of repeats; copy counts 2x, triad 3x the array bytes)\n");
  std::printf("  %-10s %7s %6s %10s %12s %12s\n", "numa node", "threads", "bound", "array", "copy GB/s", "triad GB/s");
  for (const auto& h : roof.host)
    std::printf("  %-10s %7d %6s %7.0f MiB %12.1f %12.1f\n", h.numa_node < 0 ? "all" : std::to_string(h.numa_node).c_str(),
                h.threads, h.bound ? "yes" : "no", double(h.array_bytes) / (1 << 20), h.copy_gbps, h.triad_gbps);
  if (roof.gpu.empty()) {
    std::printf("gpus: none measured (%s)\n", roof.gpu_note.c_str());
    return;
  }
  std::printf("gpus\n  %-4s %-28s %10s %10s %10s %14s\n", "gpu", "name", "d2d GB/s", "h2d GB/s", "d2h GB/s", "SGEMM GFLOP/s");
  for (const auto& g : roof.gpu) {
    std::printf("  %-4d %-28s %10.1f %10.1f %10.1f %14.0f\n", g.device, g.name.c_str(), g.d2d_gbps, g.h2d_gbps,
                g.d2h_gbps, g.sgemm_gflops);
    if (!g.note.empty()) std::printf("       note: %s\n", g.note.c_str());
  }
}

void print_table(const std::vector<bench::Result>& rows, const bench::Roof& roof) {
  std::printf("%-10s %-6s %-16s %-5s %10s %14s %9s %7s  %s\n", "op", "device", "size", "dtype", "median",
              "rate", "GB/s", "% roof", "params / note");
  for (const auto& r : rows) {
    if (r.skipped) {
      std::printf("%-10s %-6s %-16s %-5s %10s %14s %9s %7s  skipped: %s\n", r.op.c_str(), r.device.c_str(),
                  r.shape.c_str(), r.dtype.c_str(), "-", "-", "-", "-", r.note.c_str());
      continue;
    }
    const std::string rate = fmt(r.rate >= 100 ? "%.0f " : "%.1f ", r.rate) + r.rate_unit;
    const std::string pct = r.pct_roof >= 0 ? fmt("%.0f%%", r.pct_roof) : "-";
    std::string tail = r.params;
    if (!r.note.empty()) tail += (tail.empty() ? "" : "; ") + r.note;
    std::printf("%-10s %-6s %-16s %-5s %10s %14s %9.2f %7s  %s\n", r.op.c_str(), r.device.c_str(), r.shape.c_str(),
                r.dtype.c_str(), time_text(r.median_s).c_str(), rate.c_str(), r.gbps, pct.c_str(), tail.c_str());
  }
  const double h = roof.host_copy_gbps();
  std::printf("\nGB/s = (input + output bytes) / median time; %% roof = GB/s / measured copy bandwidth "
              "(host %.1f GB/s",
              h);
  for (const auto& g : roof.gpu) std::printf(", gpu %d %.1f GB/s", g.device, g.d2d_gbps);
  std::printf(")%s\n", roof.gpu.empty() ? (", gpu: " + roof.gpu_note).c_str() : "");
}

int run_bench(const BenchOpts& o) {
  // Validate everything before timing anything.
  if (!o.op.empty() && !find_op(o.op)) {
    std::string names;
    for (const OpSpec* s : op_table()) names += (names.empty() ? "" : ", ") + std::string(s->name);
    return usage_error("no op named '" + o.op + "'; ops: " + names);
  }
  std::vector<std::pair<std::string, std::string>> kv;
  if (Status s = bench::parse_kv(o.params, kv); !s.ok()) return usage_error(s.message());
  if (!o.params.empty() && o.op.empty()) return usage_error("--params needs --op");
  std::optional<DType> dtype;
  if (!o.dtype.empty()) {
    dtype = parse_dtype(o.dtype);
    if (!dtype) return usage_error("unknown dtype '" + o.dtype + "' (u8 u16 i32 i64 f32 f64)");
  }
  std::int64_t w = 0, h = 0;
  if (!o.size.empty()) {
    static const std::regex re(R"((\d+)[xX](\d+))");
    std::smatch m;
    if (!std::regex_match(o.size, m, re)) return usage_error("--size must be WxH, e.g. 1920x1080 (got '" + o.size + "')");
    w = std::stoll(m[1]);
    h = std::stoll(m[2]);
    if (w < 1 || h < 1 || w > (1 << 20) || h > (1 << 20)) return usage_error("--size out of range: " + o.size);
  }

  // Timed ops allocate their outputs on every call. Keep freed blocks in the
  // heap so repeats reuse warm pages instead of mmap + page faults each time.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);

  bench::Roof roof;
  bench::RoofOptions ro;
  if (!o.roof) {  // the kernel table needs only the copy bandwidths
    ro.triad = false;
    ro.repeats = 3;
    ro.gpu_host_copies = false;
    ro.sgemm_n = o.op == "matmul" || o.op.empty() ? 4096 : 0;
  }
  if (o.roof || !o.no_roof) {
    if (Status s = bench::measure_roof(ro, roof); !s.ok()) {
      std::cerr << "tandem bench: " << s.message() << "\n";
      return 1;
    }
  } else {
    roof.gpu_note = "not measured (--no-roof)";
  }
  if (o.roof) {
    if (o.json) std::cout << bench::to_json(roof, {}) << "\n";
    else print_roof(roof);
    return 0;
  }

  bench::MatrixOptions mo;
  mo.only_op = o.op;
  mo.devices.clear();
  if (o.device.empty() || o.device == "cpu") mo.devices.push_back(Device::cpu());
  if (o.device.empty() || o.device == "gpu") {
    const int n = std::max(cuda_device_count(), 1);  // 0 GPUs: one row that says why it was skipped
    for (int d = 0; d < n; ++d) mo.devices.push_back(Device::cuda(d));
  }
  if (w > 0) {
    mo.width = w;
    mo.height = h;
    mo.elements = w * h;
    mo.matmul_n = 0;  // set below: A is H x W
  }
  if (o.channels > 0) mo.channels = {o.channels};
  if (dtype) mo.image_dtype = mo.array_dtype = *dtype;
  if (w == 0) mo.elements = o.elements;
  std::vector<bench::Case> cases = bench::default_cases(mo);
  for (auto& c : cases) {
    if (c.op == "matmul" && w > 0) c.shape = {h, w};
    if (c.op == "matmul" && dtype) c.dtype = *dtype;
    c.params = o.params;
  }
  bench::Options bo;
  bo.repeats = o.repeats;
  bo.warmup = o.warmup;
  bo.threads = o.threads;
  std::vector<bench::Result> results;
  for (const auto& c : cases) {
    results.push_back(bench::run_case(c, bo, roof));
    // Progress on stderr: the full matrix takes a while.
    if (!o.json)
      std::fprintf(stderr, "  %s %s %s done\n", c.op.c_str(), results.back().device.c_str(),
                   results.back().shape.c_str());
  }
  if (o.json) std::cout << bench::to_json(roof, results) << "\n";
  else print_table(results, roof);
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, Commands& commands) {
  auto* cmd = app.add_subcommand("bench", "Time every op on each device, and measure the machine's bandwidth roof");
  cmd->footer(
      "Defaults: image ops on 4096x4096 u8 gray and RGB, array ops on 1e7 f32 elements,\n"
      "matmul 1024x1024 f32 (B made and kept resident by the bench). Each row: median of\n"
      "--repeats after --warmup runs; GPU rows use CUDA events with the data already on\n"
      "the device. GB/s counts input + output bytes once; % roof divides it by the\n"
      "measured copy bandwidth of the device (see --roof).\n"
      "Examples:\n"
      "  tandem bench                              every op, every device\n"
      "  tandem bench --op gaussian --params sigma=3 --size 1920x1080 --channels 3\n"
      "  tandem bench --device cpu --threads 4 --json\n"
      "  tandem bench --roof                       host STREAM per NUMA node; GPU copy and SGEMM rates");
  auto o = std::make_shared<BenchOpts>();
  cmd->add_option("--op", o->op, "Only this op (default: every op in the table)");
  cmd->add_option("--params", o->params, "Op parameters \"k=v k=v\" on top of the bench's defaults");
  cmd->add_option("--device", o->device, "cpu or gpu (default: both)")->check(CLI::IsMember({"cpu", "gpu"}));
  cmd->add_option("--size", o->size, "Image size WxH (array ops: W*H elements; matmul: A is H x W)");
  cmd->add_option("--channels", o->channels, "Image channels (default: 1 and 3)")->check(CLI::Range(1, 4));
  cmd->add_option("--dtype", o->dtype, "Element type (default: u8 images, f32 arrays)");
  cmd->add_option("--elements", o->elements, "Array ops: element count (default 1e7)")
      ->check(CLI::Range(std::int64_t(1), std::int64_t(1) << 40));
  cmd->add_option("--repeats", o->repeats, "Timed runs per row (default 10)")->check(CLI::Range(1, 100000));
  cmd->add_option("--warmup", o->warmup, "Untimed runs first (default 2)")->check(CLI::Range(1, 1000));
  cmd->add_option("--threads", o->threads, "CPU threads per op (default: all)")->check(CLI::Range(0, 4096));
  cmd->add_flag("--json", o->json, "Print JSON instead of a table");
  auto* roof = cmd->add_flag("--roof", o->roof, "Measure and print the roof only");
  cmd->add_flag("--no-roof", o->no_roof, "Skip the bandwidth measurement (no % roof column)")->excludes(roof);
  cmd->callback([o, &commands] { commands.run = [o] { return run_bench(*o); }; });
}

}  // namespace tandem::cli
