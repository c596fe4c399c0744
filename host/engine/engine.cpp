// The batch engine: the stages of host/engine/ wired together.
//
//   listing -> admission -> read -> decode -> work queue -> {CPU teams, GPU feeders} -> encode+write
//                                                                  .npy streaming (after the batch)
//
// Bounded queues join the stages and one byte budget (admission) bounds what
// the items in flight hold. Every item ends in record(), once.
#include "tandem/engine.hpp"

#include <sys/sysinfo.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "host/engine/context.hpp"
#include "host/engine/cpu_team.hpp"
#include "host/engine/decode_stage.hpp"
#include "host/engine/gpu_feeder.hpp"
#include "host/engine/listing.hpp"
#include "host/engine/read_stage.hpp"
#include "host/engine/scheduler.hpp"
#include "host/engine/share.hpp"
#include "host/engine/stream.hpp"
#include "host/engine/stream_stage.hpp"
#include "host/engine/write_stage.hpp"
#include "tandem/io/file.hpp"
#include "tandem/io/npy.hpp"

namespace tandem {

namespace engine {

std::size_t default_io_memory() {
  struct sysinfo si {};
  std::size_t ram = 8ull << 30;
  if (::sysinfo(&si) == 0) ram = static_cast<std::size_t>(si.totalram) * si.mem_unit;
  return std::clamp<std::size_t>(ram / 8, 64ull << 20, 4ull << 30);
}

namespace {
std::string default_model_cache() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/tandem/throughput.json";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/tandem/throughput.json";
  return "";
}
}  // namespace

Context::Context(const Pipeline& p, const RunOptions& o, EnginePlan plan_)
    : pipeline(p),
      opts(o),
      plan(std::move(plan_)),
      trace(!o.trace_path.empty()),
      model(p.text(), o.model_cache == "-" ? "" : (o.model_cache.empty() ? default_model_cache() : o.model_cache)),
      admission(o.io_memory) {}

void Context::notice(std::string text) {
  std::lock_guard lock(notices_mu_);
  notices_.push_back(std::move(text));
}

std::vector<std::string> Context::take_notices() {
  std::lock_guard lock(notices_mu_);
  return std::exchange(notices_, {});
}

namespace {

namespace fs = std::filesystem;

// "1.5 GiB"
std::string tools_bytes(std::uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

// A file can be created in `dir`: tried with a temporary, removed at once.
Status check_writable(const std::string& dir, const std::string& what) {
  io::AtomicFile probe;
  const Status s = probe.open(dir + "/.tandem-write-check");
  if (!s.ok()) return {Errc::io_error, "cannot write to " + what + ": " + s.message()};
  probe.abort();
  return {};
}

// "16384x16384x4 u16 png"
std::string describe(const io::ImageInfo& info) {
  std::string s;
  for (std::size_t i = 0; i < info.shape.size(); ++i) s += (i ? "x" : "") + std::to_string(info.shape[i]);
  return s + " " + dtype_name(info.dtype) + " " + io::format_name(info.format);
}

class Engine {
 public:
  Engine(Context& ctx, RunSummary& s) : ctx_(ctx), summary_(s) {}

  Status run_files();
  Status run_tensors(const std::vector<View>& inputs,
                     const std::function<void(std::size_t, const Status&, Tensor&)>& on_result);

 private:
  Status prepare();
  Status list(const std::string& outdir, Listing& listing);
  bool admit(ItemPtr& item, std::vector<ItemPtr>& streamed);
  void skip(ItemPtr item);
  void finish(ItemPtr item);
  void record(ItemPtr item);
  void summarize();
  void monitor();
  void end_monitor();

  Context& ctx_;
  RunSummary& summary_;
  Clock::time_point start_ = Clock::now();

  std::unique_ptr<WorkQueue<Item>> work_;
  std::unique_ptr<WriteStage> write_;
  std::function<void(std::size_t, const Status&, Tensor&)> on_tensor_;

  std::mutex result_mu_;
  std::vector<std::pair<std::size_t, ItemResult>> results_;  // (input index, result)
  std::map<std::string, std::size_t> per_device_;            // under result_mu_
  std::atomic<std::size_t> done_{0}, failed_{0};
  std::atomic<std::uint64_t> bytes_in_{0};
  std::size_t total_ = 0;  // set before the monitor starts
  std::mutex monitor_mu_;
  std::condition_variable monitor_cv_;  // wakes the monitor at the end of the run
  bool finished_ = false;               // under monitor_mu_
  // A shared run asks for its next chunk only when fewer than flight_limit_
  // of its items are between admission and record: what it claims, it runs soon.
  std::condition_variable room_cv_;  // under result_mu_
  std::size_t admitted_ = 0, flight_limit_ = 0;
};

Status Engine::prepare() {
  if (ctx_.plan.teams.empty() && ctx_.plan.gpus.empty())
    return {Errc::no_device, "no device to run on (no CPU team and no usable GPU)"};
  const std::size_t workers = ctx_.plan.teams.size() + ctx_.plan.gpus.size();
  // Room for every worker's next item, plus a GPU batch per GPU worker; the
  // byte budget bounds what the items hold.
  const std::size_t capacity =
      std::max<std::size_t>(4, 2 * workers) + ctx_.plan.gpus.size() * WorkQueue<Item>::kBatchMaxItems;
  flight_limit_ = capacity;
  work_ = std::make_unique<WorkQueue<Item>>(capacity, static_cast<int>(ctx_.plan.gpus.size()),
                                            !ctx_.plan.teams.empty(), ctx_.model);
  return {};
}

// Hands a computed (or failed) item on: to the writers for files, to the
// caller's callback for in-memory runs.
void Engine::finish(ItemPtr item) {
  item->host = Tensor();
  item->bytes.clear();
  if (on_tensor_) {
    {
      std::lock_guard lock(result_mu_);
      on_tensor_(item->index, item->info.status, item->result);
    }
    record(std::move(item));
    return;
  }
  if (!item->info.status.ok()) {
    item->info.output.clear();
    record(std::move(item));
    return;
  }
  write_->process(std::move(item));
}

// The end of every item: its budget back, its result kept for the summary.
void Engine::record(ItemPtr item) {
  ctx_.admission.release(std::exchange(item->charge, 0));
  ItemResult r = std::move(item->info);
  const bool ok = r.status.ok();
  std::lock_guard lock(result_mu_);
  if (!r.device.empty() && ok) ++per_device_[r.device.substr(0, r.device.find(' '))];
  if (!ok) failed_.fetch_add(1);
  done_.fetch_add(1);
  if (ctx_.opts.on_item) ctx_.opts.on_item(r);
  results_.emplace_back(item->index, std::move(r));
  room_cv_.notify_all();
}

void Engine::summarize() {
  std::sort(results_.begin(), results_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  summary_.items.clear();
  for (auto& [index, r] : results_) {
    if (r.skipped) {
      summary_.items.push_back(std::move(r));
      continue;
    }
    if (r.status.ok()) ++summary_.ok;
    else if (r.status.code() == Errc::cancelled) ++summary_.not_started;
    else ++summary_.failed;
    summary_.bytes_in += r.bytes_in;
    summary_.bytes_out += r.bytes_out;
    summary_.items.push_back(std::move(r));
  }
  summary_.wall_seconds = seconds_since(start_);
  summary_.items_per_device = per_device_;
  summary_.io_memory_limit = ctx_.admission.limit();
  summary_.io_memory_peak = ctx_.admission.peak();
  for (StageClock* st : {&ctx_.read, &ctx_.decode, &ctx_.compute_cpu, &ctx_.compute_gpu, &ctx_.write})
    if (st->threads > 0) summary_.stages.push_back({st->name, st->threads, st->busy.load()});
  for (auto& n : ctx_.take_notices()) summary_.notices.push_back(std::move(n));
  ctx_.model.save();
  if (ctx_.trace.enabled()) {
    const Status s = ctx_.trace.write(ctx_.opts.trace_path);
    if (!s.ok()) summary_.notices.push_back(s.message());
  }
}

void Engine::monitor() {
  for (bool last = false; !last;) {
    {
      // Every 200 ms, and once more when the run has ended: the final counts.
      std::unique_lock lock(monitor_mu_);
      last = monitor_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return finished_; });
    }
    if (!ctx_.opts.on_progress) continue;
    Progress p;
    p.last = last;
    p.total = total_;
    p.done = done_.load();
    p.failed = failed_.load();
    p.bytes_in = bytes_in_.load();
    p.elapsed = seconds_since(start_);
    {
      std::lock_guard lock(result_mu_);
      p.per_device = per_device_;
    }
    ctx_.opts.on_progress(p);
  }
}

void Engine::end_monitor() {
  {
    std::lock_guard lock(monitor_mu_);
    finished_ = true;
  }
  monitor_cv_.notify_all();
}

// An item --resume found done: in the summary, never read.
void Engine::skip(ItemPtr item) {
  std::lock_guard lock(result_mu_);
  results_.emplace_back(item->index, std::move(item->info));
  ++summary_.skipped;
}

// Reads the item's header and sets its charge and decode limit; false when
// it cannot run (its status says why), or when it moved to `streamed`
// (item is then null).
bool Engine::admit(ItemPtr& item, std::vector<ItemPtr>& streamed) {
  io::ImageInfo info;
  std::uint64_t file_bytes = 0;
  io::DecodeOptions as;
  as.page = item->page;
  as.apply_orientation = !ctx_.opts.raw_orientation;
  const Status probed = io::probe_file(item->input, info, file_bytes, as);
  if (!probed.ok() && probed.code() == Errc::io_error) {
    item->info.status = probed;
    return false;
  }
  std::optional<io::ImageInfo> header;
  if (probed.ok()) header = info;
  if (header && info.format == io::Format::npy) {
    io::NpyReader npy;
    if (npy.open(item->input).ok()) {
      item->info.status = check_npy_dtype(item->input, npy.header());
      if (!item->info.status.ok()) return false;
    }
  }
  const ItemEstimate e = estimate_item(ctx_.pipeline, header, file_bytes, !ctx_.opts.strip_metadata);
  const std::size_t limit = ctx_.admission.limit();
  if (e.peak > limit) {
    if (header && info.format == io::Format::npy && can_stream(ctx_.pipeline)) {
      streamed.push_back(std::move(item));
      return false;
    }
    item->info.status = {Errc::out_of_memory,
                         item->input + ": needs " + tools_bytes(e.peak) + " at its peak" +
                             (header ? " (it decodes to " + tools_bytes(e.decoded) + ", " + describe(info) + ")" : "") +
                             ", more than the whole budget of " + tools_bytes(limit) +
                             " (RunOptions::io_memory); raise it to run this item"};
    return false;
  }
  item->charge = static_cast<std::size_t>(e.peak);
  // The pages of a multi-page TIFF are items of the listing (make_listing).
  if (header && info.format == io::Format::tiff) item->tiff_compression = info.tiff_compression;
  // The decoder refuses more than the header promised (a file changed since).
  item->decode_limit = header ? e.decoded : limit;
  return true;
}

// The listing, made here or received from the process that made it (a
// shared run: WorkShare::listing). The trace says which.
Status Engine::list(const std::string& outdir, Listing& listing) {
  const RunOptions& o = ctx_.opts;
  bool here = false;
  const auto list_here = [&](std::string& bytes) {
    here = true;
    return make_listing(ctx_.pipeline, o, outdir, bytes);
  };
  const double t0 = ctx_.trace.now_us();
  std::string bytes;
  TANDEM_TRY(o.share ? o.share->listing(list_here, bytes) : list_here(bytes));
  if (ctx_.trace.enabled())
    ctx_.trace.span(ctx_.trace.track("listing"), here ? "list inputs" : "receive the listing", "listing", t0,
                    ctx_.trace.now_us(), std::to_string(bytes.size()) + " bytes");
  return read_listing(ctx_.pipeline, bytes, ctx_.admission.limit() / 4, listing);
}

Status Engine::run_files() {
  const RunOptions& o = ctx_.opts;
  if (o.output_dir.empty()) return {Errc::invalid_argument, "no output directory given (output_dir is empty)"};
  if (o.inputs.empty()) return {Errc::invalid_argument, "no inputs given"};
  if (!o.format.empty() && !io::parse_format(o.format))
    return {Errc::invalid_argument, "unknown output format '" + o.format + "' (png, jpg, pgm, ppm, tiff, npy)"};
  std::error_code ec;
  fs::create_directories(o.output_dir, ec);
  if (ec || !fs::is_directory(o.output_dir))
    return {Errc::io_error, "cannot create output directory " + o.output_dir + (ec ? ": " + ec.message() : "")};
  const fs::path outdir = fs::canonical(o.output_dir, ec);
  // Nothing is decoded when no output could be written, or the trace could not.
  TANDEM_TRY(check_writable(outdir.string(), "output directory " + o.output_dir));
  if (!o.trace_path.empty()) {
    const fs::path trace_dir = fs::absolute(o.trace_path, ec).parent_path();
    TANDEM_TRY(check_writable(trace_dir.string(), "the trace file " + o.trace_path + " (RunOptions::trace_path)"));
  }
  std::int64_t stale = 0;
  (void)io::remove_stale_temporaries(outdir.string(), stale, false, true);

  Listing listing;
  TANDEM_TRY(list(outdir.string(), listing));
  for (auto& n : listing.notices) summary_.notices.push_back(std::move(n));
  // This process's share of the listing: all of it, a --shard, or chunks from a WorkShare.
  ItemSource source(std::move(listing), o);
  TANDEM_TRY(source.begin());
  total_ = source.total();

  TANDEM_TRY(prepare());
  std::thread mon([this] { monitor(); });

  // Built from the end of the line to its start, so each stage's sink exists.
  write_ = std::make_unique<WriteStage>(ctx_, [this](ItemPtr item) { record(std::move(item)); });
  const ItemSink to_finish = [this](ItemPtr item) { finish(std::move(item)); };
  CpuTeams teams(ctx_, *work_, to_finish);
  GpuFeeders feeders(ctx_, *work_, to_finish);
  DecodeStage decode(ctx_, [this](ItemPtr item) { work_->push(std::move(item)); }, to_finish);
  ReadStage read(
      ctx_,
      [&](ItemPtr item) {
        bytes_in_.fetch_add(item->bytes.size());
        decode.process(std::move(item));
      },
      to_finish);
  StreamStage stream(ctx_, [this](ItemPtr item) {
    bytes_in_.fetch_add(item->info.bytes_in);
    record(std::move(item));
  });

  write_->start();
  decode.start();
  teams.start();
  feeders.start();
  read.start();
  // Admission, on this thread: each item's header is read and the item is
  // charged the peak it will reach before it is read; the charge comes back
  // when it has been written or has failed. What can never fit is refused.
  std::size_t not_started = 0;
  std::vector<ItemPtr> streamed;
  Claim claim;
  std::size_t refused = 0;  // recorded without being admitted
  auto room = [&] {
    std::unique_lock lock(result_mu_);
    room_cv_.wait_for(lock, std::chrono::milliseconds(100),
                      [&] { return admitted_ + refused - done_.load() < flight_limit_; });
    return true;
  };
  while (!ctx_.cancelled() && room() && source.next(claim)) {
    refused += claim.refused.size();
    for (auto& item : claim.refused) record(std::move(item));
    for (auto& item : claim.skipped) skip(std::move(item));
    for (auto& item : claim.streamed) streamed.push_back(std::move(item));
    std::vector<ItemPtr>& todo = claim.todo;
    for (ItemPtr& item : todo) {
      if (ctx_.cancelled()) break;
      if (!admit(item, streamed)) {
        if (!item) continue;  // moved to the streamed list
        ++refused;
        finish(std::move(item));
        continue;
      }
      if (!ctx_.admission.acquire(item->charge)) break;
      {
        std::lock_guard lock(result_mu_);
        ++admitted_;
      }
      read.process(std::move(item));
    }
    for (auto& item : todo)
      if (item) ++not_started;  // never admitted (cancelled)
  }
  read.stop();
  decode.stop();
  work_->close();
  teams.stop();
  feeders.stop();
  write_->stop();
  for (auto& item : streamed) {
    if (ctx_.cancelled()) {
      ++not_started;
      continue;
    }
    stream.process(std::move(item));
  }
  end_monitor();
  mon.join();
  summarize();
  summary_.not_started += not_started;
  summary_.cancelled = ctx_.cancelled();
  return {};
}

Status Engine::run_tensors(const std::vector<View>& inputs,
                           const std::function<void(std::size_t, const Status&, Tensor&)>& on_result) {
  on_tensor_ = on_result;
  total_ = inputs.size();
  TANDEM_TRY(prepare());
  std::thread mon([this] { monitor(); });
  const ItemSink to_finish = [this](ItemPtr item) { finish(std::move(item)); };
  CpuTeams teams(ctx_, *work_, to_finish);
  GpuFeeders feeders(ctx_, *work_, to_finish);
  teams.start();
  feeders.start();
  std::size_t i = 0;
  for (; i < inputs.size(); ++i) {
    if (ctx_.cancelled()) break;
    auto item = std::make_unique<Item>();
    item->index = i;
    item->input = "#" + std::to_string(i);
    item->info.input = item->input;
    item->borrowed = &inputs[i];
    item->input_bytes = inputs[i].nbytes();
    if (!inputs[i].device.is_cpu()) {
      item->info.status = {Errc::invalid_argument,
                           "run_tensors takes host tensors; input " + item->input + " is on " + inputs[i].device.str()};
      finish(std::move(item));
      continue;
    }
    if (!work_->push(std::move(item))) break;
  }
  work_->close();
  teams.stop();
  feeders.stop();
  end_monitor();
  mon.join();
  summarize();
  summary_.not_started += inputs.size() - i;
  summary_.cancelled = ctx_.cancelled();
  return {};
}

// The plan first: a run that cannot be placed fails before anything starts.
template <class Body>
Status with_engine(const Pipeline& pipeline, const RunOptions& options, RunSummary& summary, Body body) {
  summary = RunSummary{};
  EnginePlan plan;
  TANDEM_TRY(make_engine_plan(options, plan, summary.notices));
  Context ctx(pipeline, options, std::move(plan));
  Engine e(ctx, summary);
  return body(e);
}

}  // namespace
}  // namespace engine

Status run_batch(const Pipeline& pipeline, const RunOptions& options, RunSummary& summary) {
  return engine::with_engine(pipeline, options, summary, [](engine::Engine& e) { return e.run_files(); });
}

Status run_tensors(const Pipeline& pipeline, const std::vector<View>& inputs, const RunOptions& options,
                   const std::function<void(std::size_t, const Status&, Tensor&)>& on_result, RunSummary& summary) {
  return engine::with_engine(pipeline, options, summary,
                             [&](engine::Engine& e) { return e.run_tensors(inputs, on_result); });
}

}  // namespace tandem
