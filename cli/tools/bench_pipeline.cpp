// `tandem bench --pipeline`: each stage of the batch engine timed alone, then
// the whole batch, and the overlap efficiency between the two.
//
// Each stage is timed alone by driving the engine's own stage objects (the
// read, decode and write stages, the CPU teams and GPU feeders of
// host/engine/) over the batch held in memory: the same code, threads,
// bindings and worker counts as in a run, not a copy of them.
#include "cli/tools/bench_pipeline.hpp"
#include "cli/tools/format.hpp"

#include <sched.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "host/engine/context.hpp"
#include "host/engine/cpu_team.hpp"
#include "host/engine/decode_stage.hpp"
#include "host/engine/gpu_feeder.hpp"
#include "host/engine/read_stage.hpp"
#include "host/engine/scheduler.hpp"
#include "host/engine/write_stage.hpp"
#include "tandem/io/codec.hpp"
#include "tandem/io/file.hpp"
#include "tandem/pipeline.hpp"

namespace tandem::bench {

namespace fs = std::filesystem;

namespace {

using tools::Clock;
using tools::seconds_since;

// User + system CPU time of the whole process (every thread, io_uring's inline work too).
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, int(std::thread::hardware_concurrency()));
}

// A private directory under the temp root, removed with everything in it.
class TempDir {
 public:
  Status create(const std::string& root) {
    std::error_code ec;
    const fs::path base = root.empty() ? fs::temp_directory_path(ec) : fs::path(root);
    if (ec) return {Errc::io_error, "bench: no temporary directory: " + ec.message()};
    std::string tmpl = (base / "tandem-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      return {Errc::io_error, "bench: cannot create a directory in " + base.string() + ": " + io::errno_message(errno)};
    path_ = tmpl;
    return {};
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir() = default;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Empties `dir` (untimed, between passes) so every pass writes new files.
Status fresh_dir(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return {Errc::io_error, "bench: cannot create " + dir.string() + ": " + ec.message()};
  return {};
}

// The first error any worker hit, and the summed per-item busy time.
class PassState {
 public:
  void fail(const Status& s) {
    std::lock_guard lock(mu_);
    if (first_.ok()) first_ = s;
  }
  void add_busy(double s) {
    std::lock_guard lock(mu_);
    busy_ += s;
  }
  [[nodiscard]] Status status() const { return first_; }
  [[nodiscard]] double busy() const { return busy_; }

 private:
  std::mutex mu_;
  Status first_;
  double busy_ = 0;
};

// What one timed pass of a stage measured.
struct Pass {
  double wall = 0, cpu = 0, busy = 0;
};

// The batch, held in memory between stages.
struct Batch {
  std::vector<std::string> inputs;
  std::vector<fs::path> outputs;         // relative to the output directory
  std::vector<std::optional<io::Format>> formats;  // nullopt: a reduction's JSON
  std::vector<std::vector<std::byte>> files;
  std::vector<Tensor> decoded;
  std::vector<Tensor> results;
};

// --- the stages, one pass each ---------------------------------------------
//
// Each pass drives the engine's own stage objects (host/engine/*_stage.hpp,
// cpu_team.hpp, gpu_feeder.hpp) over the batch held in memory, with a fresh
// engine::Context, so a pass's busy time is the stage clock the engine keeps.

using engine::Item;
using engine::ItemPtr;

// One item per input, numbered as the batch.
std::vector<ItemPtr> make_items(const Batch& b) {
  std::vector<ItemPtr> items;
  for (std::size_t i = 0; i < b.inputs.size(); ++i) {
    auto item = std::make_unique<Item>();
    item->index = i;
    item->input = b.inputs[i];
    item->info.input = b.inputs[i];
    items.push_back(std::move(item));
  }
  return items;
}

// Times start() .. stop() of a stage fed `items`; the pass's busy time is the stage's clock.
template <class StageT>
void timed_pass(StageT& stage, std::vector<ItemPtr>& items, const engine::StageClock& clock, Pass& pass) {
  const auto t0 = Clock::now();
  const double c0 = process_cpu_seconds();
  stage.start();
  for (auto& item : items) stage.process(std::move(item));
  stage.stop();
  pass = {seconds_since(t0), process_cpu_seconds() - c0, clock.busy.load()};
}

// read: every file into memory through the engine's read stage.
Status read_pass(Batch& b, const Pipeline& p, const RunOptions& ro, const EnginePlan& plan, Pass& pass,
                 std::string& backend) {
  PassState st;
  engine::Context ctx(p, ro, plan);
  auto keep = [&](ItemPtr item) { b.files[item->index] = std::move(item->bytes); };
  auto fail = [&](ItemPtr item) { st.fail(item->info.status); };
  engine::ReadStage stage(ctx, keep, fail);
  std::vector<ItemPtr> items = make_items(b);
  timed_pass(stage, items, ctx.read, pass);
  backend = stage.backend();
  return st.status();
}

// decode: every file from memory, on the engine's decoder threads.
Status decode_pass(Batch& b, const Pipeline& p, const RunOptions& ro, const EnginePlan& plan, Pass& pass) {
  PassState st;
  engine::Context ctx(p, ro, plan);
  auto keep = [&](ItemPtr item) { b.decoded[item->index] = std::move(item->host); };
  auto fail = [&](ItemPtr item) { st.fail(item->info.status.with_context(item->input)); };
  engine::DecodeStage stage(ctx, keep, fail);
  std::vector<ItemPtr> items = make_items(b);
  for (auto& item : items) item->bytes = b.files[item->index];  // untimed copy: the files are decoded every pass
  timed_pass(stage, items, ctx.decode, pass);
  return st.status();
}

// compute: the pipeline on the decoded images, on the plan's CPU teams and
// GPU feeders together, pulling from the engine's work queue.
Status compute_pass(Batch& b, const Pipeline& p, const RunOptions& ro, const EnginePlan& plan, Pass& pass) {
  PassState st;
  engine::Context ctx(p, ro, plan);
  WorkQueue<Item> work(b.inputs.size() + 1, int(plan.gpus.size()), !plan.teams.empty(), ctx.model);
  auto done = [&](ItemPtr item) {
    if (!item->info.status.ok()) st.fail(item->info.status.with_context(item->input));
    b.results[item->index] = std::move(item->result);
  };
  engine::CpuTeams teams(ctx, work, done);
  engine::GpuFeeders feeders(ctx, work, done);
  std::vector<ItemPtr> items = make_items(b);
  for (auto& item : items) {
    item->borrowed = &b.decoded[item->index].view();
    item->input_bytes = item->borrowed->nbytes();
  }
  const auto t0 = Clock::now();
  const double c0 = process_cpu_seconds();
  teams.start();
  feeders.start();
  for (auto& item : items) work.push(std::move(item));
  work.close();
  teams.stop();
  feeders.stop();
  pass = {seconds_since(t0), process_cpu_seconds() - c0, ctx.compute_cpu.busy.load() + ctx.compute_gpu.busy.load()};
  return st.status();
}

// encode+write: every result encoded and written atomically under `dir` by
// the engine's write stage; each result comes back to the batch afterwards.
Status write_pass(Batch& b, const Pipeline& p, const RunOptions& ro, const EnginePlan& plan, const fs::path& dir,
                  Pass& pass, std::uint64_t& bytes_out) {
  PassState st;
  engine::Context ctx(p, ro, plan);
  std::atomic<std::uint64_t> out{0};
  auto written = [&](ItemPtr item) {
    if (!item->info.status.ok()) st.fail(item->info.status);
    out.fetch_add(item->info.bytes_out);
    b.results[item->index] = std::move(item->result);
  };
  engine::WriteStage stage(ctx, written);
  std::vector<ItemPtr> items = make_items(b);
  for (auto& item : items) {
    const std::size_t i = item->index;
    item->output = (dir / b.outputs[i]).string();
    item->info.output = item->output;
    if (b.formats[i]) item->out_format = *b.formats[i];
    item->result = std::move(b.results[i]);
  }
  timed_pass(stage, items, ctx.write, pass);
  bytes_out = out.load();
  return st.status();
}

// --- bookkeeping -------------------------------------------------------------

// The median pass (the lower middle one for an even count), so its wall, CPU
// and busy times all come from the same pass.
std::size_t median_index(const std::vector<double>& walls) {
  std::vector<std::size_t> order(walls.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t c) { return walls[a] < walls[c]; });
  return order[(order.size() - 1) / 2];
}

// Keeps every pass's wall and the median pass's figures; one pass handles
// `items` items of `bytes` bytes in. Returns the median pass's index.
std::size_t keep_median(Timing& t, const std::vector<Pass>& passes, double items, double bytes) {
  t.runs.clear();
  for (const Pass& p : passes) t.runs.push_back(p.wall);
  const std::size_t m = median_index(t.runs);
  t.seconds = passes[m].wall;
  t.cpu_seconds = passes[m].cpu;
  t.busy_seconds = passes[m].busy;
  t.items_per_s = t.seconds > 0 ? items / t.seconds : 0;
  t.mb_per_s = t.seconds > 0 ? bytes / t.seconds / 1e6 : 0;
  return m;
}

// Times `repeats` passes of a stage; prepare() runs untimed before each.
Status time_stage(StageBench& sb, int repeats, double items, const std::function<Status()>& prepare,
                  const std::function<Status(Pass&)>& pass_fn) {
  std::vector<Pass> passes;
  for (int r = 0; r < repeats; ++r) {
    if (prepare) TANDEM_TRY(prepare());
    Pass pass;
    TANDEM_TRY(pass_fn(pass).with_context("bench: stage " + sb.name));
    passes.push_back(pass);
  }
  keep_median(sb, passes, items, sb.bytes_in);
  return {};
}

const StageReport* find_stage(const RunSummary& s, std::string_view prefix) {
  for (const auto& st : s.stages)
    if (std::string_view(st.name).starts_with(prefix)) return &st;
  return nullptr;
}

double busy_of(const RunSummary& s, std::string_view prefix) {
  double sum = 0;
  for (const auto& st : s.stages)
    if (std::string_view(st.name).starts_with(prefix)) sum += st.busy_seconds;
  return sum;
}

std::string plural(int n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

const char* device_text(DeviceChoice d) {
  return d == DeviceChoice::cpu ? "cpu" : d == DeviceChoice::gpu ? "gpu" : "auto";
}

void add_note(std::vector<std::string>& notes, const std::string& n) {
  if (std::find(notes.begin(), notes.end(), n) == notes.end()) notes.push_back(n);
}

}  // namespace

std::string default_images_dir() {
  std::error_code ec;
  if (const char* d = std::getenv("TANDEM_DATA_DIR"); d && *d) {
    const fs::path p = fs::path(d) / "images";
    return fs::is_directory(p, ec) ? p.string() : std::string();
  }
  fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  if (ec) return {};
  for (int up = 0; up <= 3 && !dir.empty(); ++up, dir = dir.parent_path()) {
    const fs::path p = dir / "data" / "images";
    if (fs::is_directory(p, ec)) return p.string();
    if (dir == dir.parent_path()) break;
  }
  return {};
}

Status run_pipeline_bench(const Pipeline& pipeline, const PipelineBenchOptions& o, PipelineBenchResult& out) {
  out = PipelineBenchResult{};
  out.pipeline = pipeline.text();
  out.device = device_text(o.device);
  out.repeats = std::max(o.repeats, 1);
  out.cores = usable_cores();
  if (o.inputs.empty()) return {Errc::invalid_argument, "bench: no inputs given"};

  TempDir tmp;
  TANDEM_TRY(tmp.create(o.temp_root));
  const fs::path batch_dir = tmp.path() / "batch", stage_dir = tmp.path() / "stages";

  RunOptions ro;
  ro.inputs = o.inputs;
  ro.globs = o.globs;
  ro.output_dir = batch_dir.string();
  ro.device = o.device;
  ro.threads = o.threads;
  ro.use_io_uring = o.use_io_uring;

  // 1. An untimed batch run: warms the page cache, the allocator, the GPU
  //    contexts and the throughput model, and tells us the items, their
  //    outputs and the engine's worker count per stage.
  RunSummary warm;
  TANDEM_TRY(run_batch(pipeline, ro, warm).with_context("bench"));
  for (const auto& r : warm.items)
    if (!r.status.ok())
      return {Errc::unsupported, "bench: " + std::to_string(warm.failed) + " of " +
                                          std::to_string(warm.items.size()) + " inputs fail in this pipeline (first: " +
                                          r.input + ": " + r.status.message() +
                                          "); give only inputs it accepts (--glob)"};
  if (warm.ok == 0) return {Errc::invalid_argument, "bench: no input files found (check the paths and --glob)"};
  for (const auto& n : warm.notices) add_note(out.notes, n);

  // The items, in input order, and where the batch wrote each.
  Batch b;
  std::error_code ec;
  const fs::path batch_root = fs::canonical(batch_dir, ec);
  for (const auto& r : warm.items) {
    if (r.skipped) continue;
    const fs::path rel = fs::path(r.output).lexically_relative(batch_root);
    if (rel.empty() || *rel.begin() == "..")
      return {Errc::internal, "bench: output " + r.output + " is not under " + batch_root.string()};
    b.inputs.push_back(r.input);
    b.outputs.push_back(rel);
    if (pipeline.result_kind() == OpKind::reduction) b.formats.emplace_back(std::nullopt);
    else if (auto f = io::format_from_path(r.output)) b.formats.emplace_back(*f);
    else return {Errc::internal, "bench: cannot tell the format of output " + r.output};
    out.file_bytes += r.bytes_in;
  }
  const std::size_t n = b.inputs.size();
  out.items = n;
  // A .npy the engine streams in chunks never passes through the stages.
  if (pipeline.streamable())
    for (const auto& in : b.inputs)
      if (io::format_from_path(in) == io::Format::npy && fs::file_size(in, ec) > warm.io_memory_limit / 4)
        return {Errc::unsupported, "bench: " + in + " is streamed in chunks by the engine (larger than a quarter of "
                                   "its I/O memory budget); the stage bench covers items held in memory only"};
  // The stages hold the whole batch in memory at once (files, decoded images, results).
  struct sysinfo si {};
  if (::sysinfo(&si) == 0 && out.file_bytes > std::uint64_t(si.totalram) * si.mem_unit / 16)
    return {Errc::out_of_memory, "bench: " + std::to_string(out.file_bytes >> 20) +
                                     " MiB of inputs is more than a 16th of RAM; the stage bench holds the whole batch "
                                     "in memory: bench a sample of it"};
  b.files.resize(n);
  b.decoded.resize(n);
  b.results.resize(n);

  // The engine's workers per stage (from the first run) and its placement.
  const StageReport* rd = find_stage(warm, "read");
  const StageReport* dec = find_stage(warm, "decode");
  const StageReport* wr = find_stage(warm, "encode+write");
  if (!rd || !dec || !wr) return {Errc::internal, "bench: the batch summary lacks its read, decode or write stage"};
  EnginePlan plan;
  std::vector<std::string> plan_notes;
  TANDEM_TRY(make_engine_plan(ro, plan, plan_notes).with_context("bench"));
  const double items = double(n);

  // 2. read. One untimed pass first: the files are in the page cache (the
  //    batch run above read them too), so this measures the read path, not the disk.
  StageBench read;
  read.threads = rd->threads;
  read.bytes_in = double(out.file_bytes);
  std::string backend;
  Pass untimed;
  TANDEM_TRY(read_pass(b, pipeline, ro, plan, untimed, backend).with_context("bench: read"));
  read.name = "read (" + backend + ")";
  read.workers = backend == "io_uring" ? std::to_string(rd->threads) + " reads in flight"
                                                    : plural(2, "pread thread");
  TANDEM_TRY(time_stage(read, out.repeats, items, nullptr, [&](Pass& p) {
    return read_pass(b, pipeline, ro, plan, p, backend);
  }));

  // 3. decode, from memory.
  StageBench decode;
  decode.name = "decode";
  decode.threads = dec->threads;
  decode.workers = plural(dec->threads, "thread");
  decode.bytes_in = double(out.file_bytes);
  TANDEM_TRY(time_stage(decode, out.repeats, items, nullptr, [&](Pass& p) { return decode_pass(b, pipeline, ro, plan, p); }));
  for (auto& f : b.files) f = {};
  for (const auto& t : b.decoded) out.decoded_bytes += t.view().nbytes();

  // 4. compute, on the decoded images: the CPU teams and GPU workers of the plan.
  StageBench compute;
  compute.name = "compute";
  for (const auto& t : plan.teams)
    compute.workers += (compute.workers.empty() ? "" : ", ") + std::string("cpu:") + std::to_string(t.index) + " x" +
                       std::to_string(t.slots.size());
  for (const auto& g : plan.gpus)
    compute.workers += (compute.workers.empty() ? "" : ", ") + std::string("cuda:") + std::to_string(g.ordinal);
  compute.threads = int(plan.teams.size() + plan.gpus.size());
  compute.bytes_in = double(out.decoded_bytes);
  TANDEM_TRY(time_stage(compute, out.repeats, items, nullptr, [&](Pass& p) { return compute_pass(b, pipeline, ro, plan, p); }));
  for (auto& t : b.decoded) t = Tensor();
  for (const auto& t : b.results) out.result_bytes += t.view().nbytes();

  // 5. encode+write, into an emptied directory each pass.
  StageBench write;
  write.name = "encode+write";
  write.threads = wr->threads;
  write.workers = plural(wr->threads, "thread");
  write.bytes_in = double(out.result_bytes);
  TANDEM_TRY(time_stage(write, out.repeats, items, [&] { return fresh_dir(stage_dir); }, [&](Pass& p) {
    return write_pass(b, pipeline, ro, plan, stage_dir, p, out.output_bytes);
  }));
  b = Batch{};
  fs::remove_all(stage_dir, ec);

  // 6. The whole batch, into an emptied directory each run.
  std::vector<RunSummary> runs;
  std::vector<Pass> passes;
  for (int r = 0; r < out.repeats; ++r) {
    TANDEM_TRY(fresh_dir(batch_dir));
    RunSummary s;
    const auto t0 = Clock::now();
    const double c0 = process_cpu_seconds();
    TANDEM_TRY(run_batch(pipeline, ro, s).with_context("bench: batch"));
    Pass pass{seconds_since(t0), process_cpu_seconds() - c0, 0};
    if (s.failed > 0 || s.ok != n)
      return {Errc::internal, "bench: the timed batch run did " + std::to_string(s.ok) + " items of " + std::to_string(n)};
    for (const auto& st : s.stages) pass.busy += st.busy_seconds;
    passes.push_back(pass);
    runs.push_back(std::move(s));
  }
  const RunSummary& med = runs[keep_median(out.batch, passes, items, double(out.file_bytes))];
  out.items_per_device = med.items_per_device;
  // Each stage's busy time inside the median batch run, beside its standalone one.
  read.batch_busy_seconds = busy_of(med, "read");
  decode.batch_busy_seconds = busy_of(med, "decode");
  compute.batch_busy_seconds = busy_of(med, "compute");
  write.batch_busy_seconds = busy_of(med, "encode+write");
  out.stages = {read, decode, compute, write};

  // 7. The figures.
  for (std::size_t i = 0; i < out.stages.size(); ++i) {
    if (out.stages[i].seconds > out.stages[out.slowest].seconds) out.slowest = i;
    out.cpu_work_seconds += out.stages[i].cpu_seconds;
  }
  const StageBench& slow = out.stages[out.slowest];
  out.efficiency = slow.items_per_s > 0 ? out.batch.items_per_s / slow.items_per_s : 0;
  out.bound_seconds = std::max(slow.seconds, out.cpu_work_seconds / out.cores);
  out.bound_items_per_s = out.bound_seconds > 0 ? items / out.bound_seconds : 0;
  out.efficiency_vs_bound = out.bound_seconds / out.batch.seconds;
  out.batch_core_use = out.batch.cpu_seconds / (out.batch.seconds * out.cores);
  out.batch_cpu_overhead = out.cpu_work_seconds > 0 ? out.batch.cpu_seconds / out.cpu_work_seconds - 1 : 0;
  if (!plan.gpus.empty())
    add_note(out.notes, "CPU time includes the GPU feeder threads' waits on their streams, so the resource bound "
                        "is pessimistic with GPUs");
  return {};
}

namespace {

nlohmann::json timing_json(const Timing& t) {
  return {{"runs_seconds", t.runs},         {"seconds", t.seconds},
          {"items_per_second", t.items_per_s}, {"mb_per_second", t.mb_per_s},
          {"cpu_seconds", t.cpu_seconds},   {"busy_seconds", t.busy_seconds}};
}

}  // namespace

std::string to_json(const PipelineBenchResult& r) {
  using nlohmann::json;
  json stages = json::array();
  for (const auto& s : r.stages) {
    json stage = timing_json(s);
    stage.update({{"name", s.name},
                  {"workers", s.workers},
                  {"threads", s.threads},
                  {"bytes_in", s.bytes_in},
                  {"batch_busy_seconds", s.batch_busy_seconds}});
    stages.push_back(std::move(stage));
  }
  json j;
  j["pipeline"] = r.pipeline;
  j["device"] = r.device;
  j["items"] = r.items;
  j["bytes"] = {{"files", r.file_bytes}, {"decoded", r.decoded_bytes}, {"results", r.result_bytes},
                {"outputs", r.output_bytes}};
  j["repeats"] = r.repeats;
  j["cores"] = r.cores;
  j["stages"] = stages;
  j["slowest_stage"] = r.stages.empty() ? json(nullptr) : json(r.stages[r.slowest].name);
  j["batch"] = timing_json(r.batch);
  j["batch"].update({{"core_use", r.batch_core_use},
                     {"cpu_overhead", r.batch_cpu_overhead},
                     {"items_per_device", r.items_per_device}});
  j["overlap_efficiency"] = r.efficiency;
  j["resource_bound"] = {{"cpu_work_seconds", r.cpu_work_seconds},
                         {"cores", r.cores},
                         {"seconds", r.bound_seconds},
                         {"items_per_second", r.bound_items_per_s},
                         {"efficiency", r.efficiency_vs_bound}};
  j["notes"] = r.notes;
  return j.dump(2);
}

}  // namespace tandem::bench
