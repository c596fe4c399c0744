// `tandem bench`: times ops through the op table on each device (median of
// repeats; CUDA events with data resident on the GPU) and prints effective
// bandwidth as a share of the machine's measured roof; `--roof` reports that
// roof (STREAM copy/triad per NUMA node; per GPU: device copy, pinned
// host<->device copy, cuBLAS SGEMM); `--pipeline` times each stage of the
// batch engine alone and the whole batch, and reports the overlap efficiency.
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>

#include "cli/commands.hpp"
#include "cli/tools/bench.hpp"
#include "cli/tools/bench_pipeline.hpp"
#include "tandem/op_table.hpp"
#include "tandem/pipeline.hpp"

namespace tandem::cli {

namespace {

struct BenchOpts {
  std::string op;
  std::string params;
  std::string device;  // "", "cpu", "gpu", "auto"
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
  // --pipeline mode
  std::string pipeline;
  std::vector<std::string> inputs, globs;
  bool no_uring = false;
  bool repeats_given = false;
  bool pipeline_given = false;
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

void print_table(const std::vector<bench::Result>& rows, const bench::Roof& roof) {
  std::printf("%-10s %-6s %-6s %-16s %-5s %10s %14s %9s %7s  %s\n", "op", "device", "simd", "size", "dtype",
              "median", "rate", "GB/s", "% roof", "params / note");
  for (const auto& r : rows) {
    const char* simd = r.simd.empty() ? "-" : r.simd.c_str();
    if (r.skipped) {
      std::printf("%-10s %-6s %-6s %-16s %-5s %10s %14s %9s %7s  skipped: %s\n", r.op.c_str(), r.device.c_str(),
                  simd, r.shape.c_str(), r.dtype.c_str(), "-", "-", "-", "-", r.note.c_str());
      continue;
    }
    const std::string rate = fmt(r.rate >= 100 ? "%.0f " : "%.1f ", r.rate) + r.rate_unit;
    const std::string pct = r.pct_roof >= 0 ? fmt("%.0f%%", r.pct_roof) : "-";
    std::string tail = r.params;
    if (!r.note.empty()) tail += (tail.empty() ? "" : "; ") + r.note;
    std::printf("%-10s %-6s %-6s %-16s %-5s %10s %14s %9.2f %7s  %s\n", r.op.c_str(), r.device.c_str(), simd,
                r.shape.c_str(), r.dtype.c_str(), time_text(r.median_s).c_str(), rate.c_str(), r.gbps, pct.c_str(),
                tail.c_str());
  }
  const double h = roof.host_copy_gbps();
  std::printf("\nGB/s = (input + output bytes) / median time; %% roof = GB/s / measured copy bandwidth "
              "(host %.1f GB/s",
              h);
  for (const auto& g : roof.gpu) std::printf(", gpu %d %.1f GB/s", g.device, g.d2d_gbps);
  std::printf(")%s\n", roof.gpu.empty() ? (", gpu: " + roof.gpu_note).c_str() : "");
}

std::string mb_text(double bytes) { return fmt(bytes >= 1e8 ? "%.0f MB" : "%.1f MB", bytes / 1e6); }

void print_pipeline(const bench::PipelineBenchResult& r) {
  std::printf("pipeline '%s': %zu items, %s in files (%s decoded, %s of results), device %s, %d cores\n",
              r.pipeline.c_str(), r.items, mb_text(double(r.file_bytes)).c_str(),
              mb_text(double(r.decoded_bytes)).c_str(), mb_text(double(r.result_bytes)).c_str(), r.device.c_str(),
              r.cores);
  std::printf("page cache warm (an untimed batch run and an untimed read pass first); %s\n\n",
              r.repeats == 1 ? "one timed pass" : ("median of " + std::to_string(r.repeats) + " passes").c_str());
  std::printf("%-16s %-22s %10s %10s %9s %8s %8s %9s\n", "stage (alone)", "workers", "time", "items/s", "MB/s",
              "CPU s", "busy s", "in batch");
  for (std::size_t i = 0; i < r.stages.size(); ++i) {
    const auto& s = r.stages[i];
    std::printf("%-16s %-22s %10s %10.1f %9.1f %8.3f %8.3f %9.3f%s\n", s.name.c_str(), s.workers.c_str(),
                time_text(s.seconds).c_str(), s.items_per_s, s.mb_per_s, s.cpu_seconds, s.busy_seconds,
                s.batch_busy_seconds, i == r.slowest ? "  <- slowest" : "");
  }
  std::printf("%-16s %-22s %10s %10.1f %9.1f %8.3f %8s %9.3f\n", "batch", "run_batch, all stages",
              time_text(r.batch.seconds).c_str(), r.batch.items_per_s, r.batch.mb_per_s, r.batch.cpu_seconds, "",
              r.batch.busy_seconds);
  if (r.stages.empty()) return;
  const auto& slow = r.stages[r.slowest];
  std::printf("\noverlap efficiency   %.1f%% = batch %.1f items/s / slowest stage alone (%s) %.1f items/s\n",
              100 * r.efficiency, r.batch.items_per_s, slow.name.c_str(), slow.items_per_s);
  std::printf("vs resource bound    %.1f%% = bound %s / batch %s; bound = max(slowest stage %s, stages' CPU time "
              "%.3f s / %d cores)\n",
              100 * r.efficiency_vs_bound, time_text(r.bound_seconds).c_str(), time_text(r.batch.seconds).c_str(),
              time_text(slow.seconds).c_str(), r.cpu_work_seconds, r.cores);
  std::printf("batch CPU use        %.0f%% of %d cores; CPU time %.3f s, %+.0f%% against the stages alone\n",
              100 * r.batch_core_use, r.cores, r.batch.cpu_seconds, 100 * r.batch_cpu_overhead);
  std::printf("\nMB/s: bytes each stage takes in (read, decode: files; compute: decoded images; encode+write:\n"
              "results); batch: files. CPU s: process CPU time of the pass. busy s: summed per-item time over\n"
              "the stage's workers (read: latency of the reads in flight), alone and inside the median batch run.\n");
  for (const auto& n : r.notes) std::printf("note: %s\n", in_cli_terms(n).c_str());
}

int run_pipeline_bench(const BenchOpts& o) {
  Pipeline pipeline;
  ParseError perr;
  if (const Status s = Pipeline::parse(o.pipeline, pipeline, &perr); !s.ok()) {
    std::cerr << "tandem bench: invalid pipeline\n" << perr.format(o.pipeline) << "\n";
    return 2;
  }
  bench::PipelineBenchOptions po;
  po.inputs = o.inputs;
  po.globs = o.globs;
  if (po.inputs.empty()) {
    const std::string dir = bench::default_images_dir();
    if (dir.empty())
      return usage_error("no inputs given, and no data/images directory beside the executable "
                         "(name inputs or set TANDEM_DATA_DIR)");
    po.inputs = {dir};
    if (po.globs.empty()) po.globs = {"*.png", "*.jpg"};  // as tandem.sh demo: not SOURCES.md
  }
  po.device = o.device == "cpu" ? DeviceChoice::cpu : o.device == "gpu" ? DeviceChoice::gpu : DeviceChoice::auto_select;
  po.threads = o.threads;
  po.repeats = o.repeats_given ? o.repeats : 3;
  po.use_io_uring = !o.no_uring;
  if (!o.json)
    std::fprintf(stderr, "tandem bench: %s: one untimed batch run, then %d timed pass(es) of each stage and of the batch\n",
                 po.inputs.size() == 1 ? po.inputs[0].c_str() : (std::to_string(po.inputs.size()) + " inputs").c_str(),
                 po.repeats);
  bench::PipelineBenchResult r;
  if (const Status s = bench::run_pipeline_bench(pipeline, po, r); !s.ok()) {
    std::string msg = in_cli_terms(s.message());
    if (msg.starts_with("bench: ")) msg.erase(0, 7);
    std::cerr << "tandem bench: " << msg << "\n";
    return s.code() == Errc::invalid_argument ? 2 : 1;
  }
  if (o.json) std::cout << bench::to_json(r) << "\n";
  else print_pipeline(r);
  return 0;
}

int run_bench(const BenchOpts& o) {
  if (o.pipeline_given) return run_pipeline_bench(o);
  if (!o.inputs.empty()) return usage_error("input files are for --pipeline (got '" + o.inputs[0] + "')");
  if (!o.globs.empty() || o.no_uring) return usage_error("--glob and --no-io-uring are for --pipeline");
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
  const bool both = o.device.empty() || o.device == "auto";
  if (both || o.device == "cpu") mo.devices.push_back(Device::cpu());
  if (both || o.device == "gpu") {
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


void add_bench_command(CLI::App& app, Commands& commands) {
  auto* cmd = app.add_subcommand(
      "bench", "Time every op on each device, measure the machine's bandwidth roof, or a pipeline's stage overlap");
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
      "  tandem bench --roof                       host STREAM per NUMA node; GPU copy and SGEMM rates\n"
      "\n"
      "--pipeline \"PIPELINE\" [INPUT...]: how well the batch engine overlaps its stages.\n"
      "Times each stage alone over the same inputs with the workers the engine gives it\n"
      "(read: the engine's reader, io_uring or pread; decode: the decoder threads, from\n"
      "memory; compute: the CPU teams and GPU workers of the placement plan, on the decoded\n"
      "images; encode+write: the writer threads, atomic writes into a temporary directory),\n"
      "then the whole batch (run_batch into a temporary directory), and reports\n"
      "  overlap efficiency = batch items/s / the slowest stage's standalone items/s\n"
      "and, since stages that share cores compete for them, the efficiency against the\n"
      "resource bound: a batch needs at least max(slowest stage, all stages' CPU time / cores).\n"
      "An untimed batch run comes first (page cache, GPU contexts, throughput model warm) and\n"
      "an untimed read pass; every figure is the median of --repeats passes (default 3 here).\n"
      "Every input must go through the pipeline (no failures); the stages hold the whole\n"
      "batch in memory, so bench a sample of a large data set. Without INPUT: the bundled\n"
      "data/images photos (*.png, *.jpg). Temporary outputs are removed.\n"
      "  tandem bench --pipeline \"gaussian sigma=2 | sobel\"\n"
      "  tandem bench --pipeline \"grayscale | resize width=640 height=480\" --device cpu --threads 2 photos/\n"
      "  tandem bench --pipeline stats --json arrays/ > overlap.json");
  auto o = std::make_shared<BenchOpts>();
  auto* op = cmd->add_option("--op", o->op, "Only this op (default: every op in the table)");
  auto* params = cmd->add_option("--params", o->params, "Op parameters \"k=v k=v\" on top of the bench's defaults");
  cmd->add_option("--device", o->device, "cpu, gpu or auto (default: both; --pipeline: auto, as tandem run)")
      ->check(CLI::IsMember({"cpu", "gpu", "auto"}));
  auto* size = cmd->add_option("--size", o->size, "Image size WxH (array ops: W*H elements; matmul: A is H x W)");
  auto* channels = cmd->add_option("--channels", o->channels, "Image channels (default: 1 and 3)")->check(CLI::Range(1, 4));
  auto* dtype = cmd->add_option("--dtype", o->dtype, "Element type (default: u8 images, f32 arrays)");
  auto* elements = cmd->add_option("--elements", o->elements, "Array ops: element count (default 1e7)")
                       ->check(CLI::Range(std::int64_t(1), std::int64_t(1) << 40));
  auto* repeats = cmd->add_option("--repeats", o->repeats, "Timed runs per row (default 10; --pipeline: 3)")
                      ->check(CLI::Range(1, 100000));
  auto* warmup = cmd->add_option("--warmup", o->warmup, "Untimed runs first (default 2)")->check(CLI::Range(1, 1000));
  cmd->add_option("--threads", o->threads,
                  "CPU threads per op (default: all); --pipeline: CPU compute threads in all, as tandem run")
      ->check(CLI::Range(0, 4096));
  cmd->add_flag("--json", o->json, "Print JSON instead of a table");
  auto* roof = cmd->add_flag("--roof", o->roof, "Measure and print the roof only");
  auto* no_roof = cmd->add_flag("--no-roof", o->no_roof, "Skip the bandwidth measurement (no % roof column)")->excludes(roof);
  auto* pipeline = cmd->add_option("--pipeline", o->pipeline,
                                   "Time this pipeline's batch stages alone and together (see below)");
  pipeline->excludes(op)->excludes(params)->excludes(size)->excludes(channels)->excludes(dtype)->excludes(elements);
  pipeline->excludes(warmup)->excludes(roof)->excludes(no_roof);
  cmd->add_option("inputs", o->inputs, "--pipeline: files and directories (default: the bundled data/images)");
  cmd->add_option("--glob", o->globs, "--pipeline: only files whose name matches, as tandem run; repeatable");
  cmd->add_flag("--no-io-uring", o->no_uring, "--pipeline: read with the pread pool, as tandem run --no-io-uring");
  cmd->callback([o, repeats, pipeline, &commands] {
    o->repeats_given = repeats->count() > 0;
    o->pipeline_given = pipeline->count() > 0;
    commands.run = [o] { return run_bench(*o); };
  });
}

}  // namespace tandem::cli
