// The batch engine: lister -> reader -> decoders -> {CPU teams, GPU workers}
// -> writers, joined by bounded queues under one byte budget.
#include "tandem/engine.hpp"

#include <fnmatch.h>
#include <sys/sysinfo.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include <omp.h>

#include "host/engine/engine_plan.hpp"
#include "host/engine/model.hpp"
#include "host/engine/queue.hpp"
#include "host/ops/reduction.hpp"
#include "host/engine/scheduler.hpp"
#include "host/engine/stream.hpp"
#include "host/engine/trace.hpp"
#include "io/reader.hpp"
#include "tandem/config.hpp"
#include "tandem/io/codec.hpp"
#include "tandem/io/file.hpp"
#if TANDEM_WITH_CUDA
#include "kernels/runtime.hpp"
#endif

namespace tandem {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// ---------------------------------------------------------------------------
// Items

struct Item {
  std::size_t index = 0;
  std::string input;             // path (files) or "#N" (tensors)
  std::string output;            // final output path
  io::Format out_format = io::Format::png;
  std::vector<std::byte> bytes;  // file contents, until decoded
  const View* borrowed = nullptr;  // run_tensors: the caller's tensor
  Tensor host;                   // decoded input
  Tensor result;                 // host result
  std::size_t charge = 0;        // bytes charged to the budget at admission
  std::size_t input_bytes = 0;
  bool cpu_only = false;         // a GPU failed it: CPU teams only
  int node = -1;                 // NUMA node it was decoded on (-1: unknown)
  bool streamed = false;         // a .npy too large for the budget: streamed in chunks
  Clock::time_point read_start;  // when its read was submitted
  ItemResult info;

  const View& input_view() const { return borrowed ? *borrowed : host.view(); }
};
using ItemPtr = std::unique_ptr<Item>;

// ---------------------------------------------------------------------------
// Listing inputs and mapping them to outputs.

bool matches_any(const std::vector<std::string>& globs, const std::string& name, const std::string& rel) {
  if (globs.empty()) return true;
  for (const auto& g : globs)
    if (::fnmatch(g.c_str(), name.c_str(), 0) == 0 || ::fnmatch(g.c_str(), rel.c_str(), FNM_PATHNAME) == 0)
      return true;
  return false;
}

struct Listed {
  std::string input;
  fs::path rel;  // relative output path before the extension is decided
  Status error;
};

// Files found by walking a directory without --glob are kept only when their
// name says a format tandem reads (a README next to the photos is not an
// input); `ignored` counts the others. Files named directly always count.
Status list_inputs(const RunOptions& o, std::vector<Listed>& out, std::size_t& ignored) {
  for (const auto& arg : o.inputs) {
    std::error_code ec;
    const fs::file_status st = fs::status(arg, ec);
    if (ec || !fs::exists(st)) {
      out.push_back({arg, fs::path(arg).filename(), {Errc::io_error, "cannot read " + arg + ": no such file or directory"}});
      continue;
    }
    if (fs::is_directory(st)) {
      std::vector<Listed> found;
      fs::recursive_directory_iterator it(arg, fs::directory_options::skip_permission_denied, ec), end;
      if (ec) {
        out.push_back({arg, fs::path(arg).filename(), {Errc::io_error, "cannot list " + arg + ": " + ec.message()}});
        continue;
      }
      for (; it != end; it.increment(ec)) {
        if (ec) break;
        if (!it->is_regular_file(ec)) continue;
        const std::string name = it->path().filename().string();
        if (io::is_temporary_name(name) || name.starts_with('.')) continue;
        const fs::path rel = fs::relative(it->path(), arg, ec);
        if (!matches_any(o.globs, name, rel.string())) continue;
        if (o.globs.empty() && !io::format_from_path(name)) {
          ++ignored;
          continue;
        }
        found.push_back({it->path().string(), rel, {}});
      }
      // Directory order is arbitrary; sort so runs are reproducible.
      std::sort(found.begin(), found.end(), [](const Listed& a, const Listed& b) { return a.input < b.input; });
      for (auto& f : found) out.push_back(std::move(f));
    } else {
      out.push_back({arg, fs::path(arg).filename(), {}});
    }
  }
  return {};
}

const char* extension_of(io::Format f) {
  switch (f) {
    case io::Format::png: return ".png";
    case io::Format::jpeg: return ".jpg";
    case io::Format::pgm: return ".pgm";
    case io::Format::ppm: return ".ppm";
    case io::Format::npy: return ".npy";
  }
  return "";
}

std::optional<io::Format> output_format(const Pipeline& p, const RunOptions& o, const std::string& input) {
  const OpKind kind = p.result_kind();
  if (kind == OpKind::reduction) return std::nullopt;  // JSON, handled by the caller
  if (kind == OpKind::histogram || kind == OpKind::array) {
    if (!o.format.empty()) return io::parse_format(o.format);
    return io::Format::npy;
  }
  if (!o.format.empty()) return io::parse_format(o.format);
  return io::format_from_path(input);
}

// ---------------------------------------------------------------------------

std::size_t default_io_memory() {
  struct sysinfo si {};
  std::size_t ram = 8ull << 30;
  if (::sysinfo(&si) == 0) ram = static_cast<std::size_t>(si.totalram) * si.mem_unit;
  return std::clamp<std::size_t>(ram / 8, 64ull << 20, 4ull << 30);
}

std::string default_model_cache() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/tandem/throughput.json";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/tandem/throughput.json";
  return "";
}

// Bytes an item may occupy at its peak, guessed from its file before decoding:
// compressed images expand; the ratio learns from what decoding shows.
class ChargeEstimator {
 public:
  std::size_t estimate(std::size_t file_bytes, bool compressed) const {
    const double r = compressed ? ratio_.load() : 2.5;
    return static_cast<std::size_t>(static_cast<double>(file_bytes) * r) + 4096;
  }
  void learn(std::size_t file_bytes, std::size_t peak_bytes) {
    if (file_bytes == 0) return;
    const double r = static_cast<double>(peak_bytes) / static_cast<double>(file_bytes);
    double cur = ratio_.load();
    while (r > cur && !ratio_.compare_exchange_weak(cur, r)) {
    }
  }

 private:
  std::atomic<double> ratio_{8.0};
};

// Per-stage busy time.
struct StageClock {
  std::string name;
  int threads = 0;
  std::atomic<double> busy{0};
  void add(double s) {
    double cur = busy.load();
    while (!busy.compare_exchange_weak(cur, cur + s)) {
    }
  }
};

// ---------------------------------------------------------------------------

class Engine {
 public:
  Engine(const Pipeline& p, const RunOptions& o, RunSummary& s)
      : pipeline_(p),
        opts_(o),
        summary_(s),
        trace_(!o.trace_path.empty()),
        model_(p.text(), o.model_cache == "-" ? "" : (o.model_cache.empty() ? default_model_cache() : o.model_cache)),
        budget_(o.io_memory ? o.io_memory : default_io_memory()) {}

  Status run_files();
  Status run_tensors(const std::vector<View>& inputs,
                     const std::function<void(std::size_t, const Status&, Tensor&)>& on_result);

 private:
  Status prepare();
  void start_compute();
  void join_compute();
  void cpu_team(const EngineTeam& team);
  void gpu_worker(const EngineGpu& gpu);
  void compute_on_cpu(Item& item, int threads, const std::string& device);
  void finish(ItemPtr item);
  void write_one(Item& item, int track);
  void record(std::size_t index, ItemResult&& r);
  void summarize();
  void monitor();
  void run_streamed(ItemPtr item);
  bool cancelled() const { return opts_.cancel && opts_.cancel->load(); }

  const Pipeline& pipeline_;
  const RunOptions& opts_;
  RunSummary& summary_;
  Trace trace_;
  ThroughputModel model_;
  MemoryBudget budget_;
  ChargeEstimator estimator_;
  EnginePlan plan_;
  Clock::time_point start_ = Clock::now();

  std::unique_ptr<WorkQueue<Item>> work_;
  std::unique_ptr<BoundedQueue<ItemPtr>> write_q_;
  std::vector<std::thread> compute_threads_;
  std::function<void(std::size_t, const Status&, Tensor&)> on_tensor_;

  StageClock read_{"read"}, decode_{"decode"}, compute_cpu_{"compute cpu"}, compute_gpu_{"compute gpu"},
      write_{"encode+write"};

  std::mutex result_mu_;
  std::vector<std::pair<std::size_t, ItemResult>> results_;  // (input index, result)
  std::atomic<std::size_t> done_{0}, failed_{0};
  std::atomic<std::uint64_t> bytes_in_{0};
  std::map<std::string, std::size_t> per_device_;  // under result_mu_
  std::size_t total_ = 0;
  std::atomic<bool> finished_{false};
  std::mutex monitor_mu_;
  std::condition_variable monitor_cv_;  // wakes the monitor at the end of the run
  void finish_monitor() {
    {
      std::lock_guard lock(monitor_mu_);
      finished_ = true;
    }
    monitor_cv_.notify_all();
  }
};

Status Engine::prepare() {
  TANDEM_TRY(make_engine_plan(opts_, plan_, summary_.notices));
  if (plan_.teams.empty() && plan_.gpus.empty())
    return {Errc::no_device, "no device to run on (no CPU team and no usable GPU)"};
  const std::size_t workers = plan_.teams.size() + plan_.gpus.size();
  // Room for every worker's next item, plus a GPU batch per GPU worker; the
  // byte budget bounds what the items hold.
  const std::size_t capacity = std::max<std::size_t>(4, 2 * workers) + plan_.gpus.size() * WorkQueue<Item>::kBatchMaxItems;
  work_ = std::make_unique<WorkQueue<Item>>(capacity, static_cast<int>(plan_.gpus.size()), !plan_.teams.empty(), model_);
  write_q_ = std::make_unique<BoundedQueue<ItemPtr>>(8);
  compute_cpu_.threads = static_cast<int>(plan_.teams.size());
  compute_gpu_.threads = static_cast<int>(plan_.gpus.size());
  return {};
}

void Engine::start_compute() {
  for (const auto& t : plan_.teams) compute_threads_.emplace_back([this, &t] { cpu_team(t); });
  for (const auto& g : plan_.gpus) compute_threads_.emplace_back([this, &g] { gpu_worker(g); });
}

void Engine::join_compute() {
  for (auto& t : compute_threads_) t.join();
  compute_threads_.clear();
}

void Engine::compute_on_cpu(Item& item, int threads, const std::string& device) {
  const auto t0 = Clock::now();
  Tensor out;
  Status s = pipeline_.apply(item.input_view(), out, Exec::cpu(threads));
  const double secs = seconds_since(t0);
  compute_cpu_.add(secs);
  if (s.ok()) model_.observe(ThroughputModel::cpu, item.input_bytes, secs);
  item.result = std::move(out);
  item.info.status = s;
  item.info.device = device;
  item.info.seconds += secs;
}

void Engine::cpu_team(const EngineTeam& team) {
  const int n = std::max<int>(1, static_cast<int>(team.slots.size()));
  const std::string device = "cpu:" + std::to_string(team.index);
  const int track = trace_.track("cpu team " + std::to_string(team.index) + " (numa " + std::to_string(team.numa_node) + ", " + std::to_string(n) + " threads)");
  // The team leader and each of its OpenMP threads bind to one PU of the team;
  // libgomp keeps this thread's pool, so the binding holds for every later region.
  bind_team(team);
  while (ItemPtr item = work_->pop_cpu(team.numa_node)) {
    {
      TraceScope scope(trace_, track, "compute", "cpu", item->input);
      compute_on_cpu(*item, n, device);
    }
    finish(std::move(item));
  }
}

#if TANDEM_WITH_CUDA
namespace {
struct GpuTimes {
  Trace* trace;
  double t[4];
};
void stamp(void* p) {
  auto* slot = static_cast<std::pair<GpuTimes*, int>*>(p);
  slot->first->t[slot->second] = slot->first->trace->now_us();
}
}  // namespace
#endif

void Engine::gpu_worker(const EngineGpu& gpu) {
#if TANDEM_WITH_CUDA
  const std::string device = "cuda:" + std::to_string(gpu.ordinal);
  const Device dev = Device::cuda(gpu.ordinal);
  bind_thread_best_effort(gpu.pus);
  // Two streams, each with its own pinned staging buffers: while one batch's
  // kernels run, the next one uploads and the previous one downloads. Small
  // images travel in batches (WorkQueue::pop_gpu_batch): packed into one
  // pinned buffer, one upload, the pipeline on each, their results packed
  // into one pinned buffer, one synchronisation for all.
  struct Slot {
    Stream stream;
    Buffer pin_in, pin_out;
    std::vector<ItemPtr> items;
    std::vector<Tensor> dev_results;
    std::vector<std::size_t> out_offsets;
    std::size_t batch_bytes = 0;
    Clock::time_point t0;
    GpuTimes times{};
    std::pair<GpuTimes*, int> marks[4];
    int track = 0;
  };
  Slot slots[2];
  for (int i = 0; i < 2; ++i) {
    Status s = Stream::create(gpu.ordinal, slots[i].stream);
    if (!s.ok()) {
      {
        std::lock_guard lock(result_mu_);
        summary_.notices.push_back(device + " unusable (" + s.message() + "); its items go to the CPU");
      }
      work_->gpu_worker_done();
      return;
    }
    slots[i].times.trace = &trace_;
    for (int k = 0; k < 4; ++k) slots[i].marks[k] = {&slots[i].times, k};
    slots[i].track = trace_.track(device + " stream " + std::to_string(i));
  }
  const int host_track = trace_.track(device + " feeder");
  constexpr std::size_t kAlign = 256;  // every packed tensor starts on a 256-byte boundary
  auto align_up = [](std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; };

  auto grow = [&](Buffer& b, std::size_t bytes) -> Status {
    if (b.size() >= bytes) return {};
    b.reset();
    return Buffer::allocate(bytes, MemKind::pinned, b, gpu.ordinal);
  };
  auto fail_or_retry = [&](ItemPtr item, const Status& s) {
    item->info.status = s;
    item->info.device = device;
    const bool retry = s.code() == Errc::out_of_memory || s.code() == Errc::cuda_error;
    if (retry && !plan_.teams.empty()) {
      item->info.retried_on_cpu = true;
      work_->push_retry(std::move(item));
    } else if (retry) {
      item->info.retried_on_cpu = true;
      compute_on_cpu(*item, 0, "cpu (retry of " + device + ")");
      finish(std::move(item));
    } else {
      finish(std::move(item));
    }
  };
  auto batch_label = [](const std::vector<ItemPtr>& items) {
    return items.size() == 1 ? items[0]->input : std::to_string(items.size()) + " items from " + items[0]->input;
  };
  // Waits for a slot's batch and hands its items to the writers.
  auto complete = [&](Slot& slot) {
    if (slot.items.empty()) return;
    const Status s = slot.stream.synchronize();
    const double secs = seconds_since(slot.t0);
    if (trace_.enabled()) {
      const std::string label = batch_label(slot.items);
      trace_.span(slot.track, "H2D", "copy", slot.times.t[0], slot.times.t[1], label);
      trace_.span(slot.track, "kernels", "gpu", slot.times.t[1], slot.times.t[2], label);
      trace_.span(slot.track, "D2H", "copy", slot.times.t[2], slot.times.t[3], label);
    }
    compute_gpu_.add(secs);
    const double n = static_cast<double>(slot.items.size());
    for (std::size_t i = 0; i < slot.items.size(); ++i) {
      ItemPtr item = std::move(slot.items[i]);
      Status si = s;
      if (si.ok()) {
        Tensor host;
        si = Tensor::create_like(slot.dev_results[i].view(), Device::cpu(), host);
        if (si.ok()) {
          View pinned = host.view();
          pinned.data = static_cast<std::byte*>(slot.pin_out.data()) + slot.out_offsets[i];
          si = copy(pinned, host.view());
        }
        if (si.ok()) item->result = std::move(host);
      }
      if (!si.ok()) {
        fail_or_retry(std::move(item), si);
        continue;
      }
      // Each item's share of the round trip, by its bytes.
      const double share = slot.batch_bytes ? secs * double(item->input_bytes) / double(slot.batch_bytes) : secs / n;
      model_.observe(ThroughputModel::gpu, item->input_bytes, share);
      item->info.status = {};
      item->info.device = device;
      item->info.seconds += share;
      item->info.gpu_batch = slot.items.size();
      finish(std::move(item));
    }
    slot.items.clear();
    slot.dev_results.clear();
    slot.out_offsets.clear();
  };

  std::size_t k = 0;
  std::vector<ItemPtr> batch;
  for (;;) {
    if (!work_->pop_gpu_batch(batch, gpu.numa_node, WorkQueue<Item>::kBatchMaxItems, WorkQueue<Item>::kBatchMaxBytes,
                              /*wait=*/false)) {
      // Nothing to take now: hand the batches in flight on before waiting.
      // Their items hold I/O budget that the reader may need to admit the
      // next item, so waiting with them held could wait forever.
      complete(slots[k % 2]);  // the older one first
      complete(slots[(k + 1) % 2]);
      if (!work_->pop_gpu_batch(batch, gpu.numa_node)) break;
    }
    Slot& slot = slots[k++ % 2];
    complete(slot);  // the batch this slot carried two rounds ago
    TraceScope scope(trace_, host_track, "stage+launch", "gpu", batch_label(batch));
    slot.t0 = Clock::now();
    const std::size_t n = batch.size();
    // Pack the inputs into the pinned buffer: pageable -> pinned, on this (GPU-local) core.
    std::vector<std::size_t> in_off(n), out_off(n);
    std::size_t in_total = 0;
    slot.batch_bytes = 0;
    for (std::size_t i = 0; i < n; ++i) {
      in_off[i] = in_total;
      in_total = align_up(in_total + batch[i]->input_view().nbytes());
      slot.batch_bytes += batch[i]->input_bytes;
    }
    Status s = grow(slot.pin_in, std::max<std::size_t>(in_total, 1));
    auto packed = [&](void* base, std::size_t off, const View& like, Device where) {
      return View::array(static_cast<std::byte*>(base) + off, like.dtype,
                         std::span<const std::int64_t>(like.shape.data(), std::size_t(like.ndim)), where);
    };
    for (std::size_t i = 0; i < n && s.ok(); ++i)
      s = copy(batch[i]->input_view(), packed(slot.pin_in.data(), in_off[i], batch[i]->input_view(), Device::cpu()));
    std::vector<Tensor> outs(n);
    std::vector<Status> item_status(n);
    if (s.ok()) {
      StreamAllocScope alloc(slot.stream.handle());
      Buffer dev_in;  // freed stream-ordered at the end of this scope, after the kernels
      s = Buffer::allocate(std::max<std::size_t>(in_total, 1), MemKind::device, dev_in, gpu.ordinal);
      if (trace_.enabled() && s.ok()) s = cuda::host_callback(slot.stream.handle(), stamp, &slot.marks[0]);
      if (s.ok()) {
        const std::int64_t bytes = static_cast<std::int64_t>(in_total);
        s = copy(View::array(slot.pin_in.data(), DType::u8, {bytes}), View::array(dev_in.data(), DType::u8, {bytes}, dev),
                 slot.stream.handle());
      }
      if (trace_.enabled() && s.ok()) s = cuda::host_callback(slot.stream.handle(), stamp, &slot.marks[1]);
      const Exec exec{dev, slot.stream.handle(), 0};
      for (std::size_t i = 0; i < n && s.ok(); ++i)
        item_status[i] = pipeline_.apply(packed(dev_in.data(), in_off[i], batch[i]->input_view(), dev), outs[i], exec);
      if (trace_.enabled() && s.ok()) s = cuda::host_callback(slot.stream.handle(), stamp, &slot.marks[2]);
      std::size_t out_total = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (item_status[i].ok()) {
          out_off[i] = out_total;
          out_total = align_up(out_total + outs[i].view().nbytes());
        }
      if (s.ok()) s = grow(slot.pin_out, std::max<std::size_t>(out_total, 1));
      for (std::size_t i = 0; i < n && s.ok(); ++i)
        if (item_status[i].ok()) s = copy(outs[i].view(), packed(slot.pin_out.data(), out_off[i], outs[i].view(), Device::cpu()),
                                          slot.stream.handle());
      if (trace_.enabled() && s.ok()) s = cuda::host_callback(slot.stream.handle(), stamp, &slot.marks[3]);
    }
    if (!s.ok()) {
      (void)slot.stream.synchronize();
      for (auto& item : batch) fail_or_retry(std::move(item), s);
      batch.clear();
      continue;
    }
    // An item whose pipeline failed on its own (e.g. no memory for its result)
    // fails or retries alone; the rest of the batch goes on.
    for (std::size_t i = 0; i < n; ++i) {
      if (!item_status[i].ok()) {
        fail_or_retry(std::move(batch[i]), item_status[i]);
        continue;
      }
      slot.items.push_back(std::move(batch[i]));
      slot.dev_results.push_back(std::move(outs[i]));
      slot.out_offsets.push_back(out_off[i]);
    }
    batch.clear();
    // complete() waits only for slots that carry items: if every item failed,
    // wait here, so the upload from pin_in and the trace stamps of this batch
    // are over before the slot's pinned buffers and times are reused.
    if (slot.items.empty()) (void)slot.stream.synchronize();
  }
  complete(slots[0]);
  complete(slots[1]);
  work_->gpu_worker_done();
#else
  (void)gpu;
  work_->gpu_worker_done();
#endif
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
    budget_.release(item->charge);
    record(item->index, std::move(item->info));
    return;
  }
  if (!item->info.status.ok()) {
    item->info.output.clear();
    budget_.release(item->charge);
    record(item->index, std::move(item->info));
    return;
  }
  write_q_->push(std::move(item));
}

void Engine::record(std::size_t index, ItemResult&& r) {
  const bool ok = r.status.ok();
  std::lock_guard lock(result_mu_);
  if (!r.device.empty() && ok) ++per_device_[r.device.substr(0, r.device.find(' '))];
  if (!ok) failed_.fetch_add(1);
  done_.fetch_add(1);
  if (opts_.on_item) opts_.on_item(r);
  results_.emplace_back(index, std::move(r));
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
  summary_.io_memory_limit = budget_.limit();
  summary_.io_memory_peak = budget_.peak();
  for (StageClock* st : {&read_, &decode_, &compute_cpu_, &compute_gpu_, &write_})
    if (st->threads > 0) summary_.stages.push_back({st->name, st->threads, st->busy.load()});
  model_.save();
  if (trace_.enabled()) {
    const Status s = trace_.write(opts_.trace_path);
    if (!s.ok()) summary_.notices.push_back(s.message());
  }
}

void Engine::write_one(Item& item, int track) {
  TraceScope scope(trace_, track, "encode+write", "io", item.input);
  const auto t0 = Clock::now();
  std::vector<std::byte> bytes;
  Status s;
  const View& r = item.result.view();
  const OpKind kind = pipeline_.result_kind();
  if (kind == OpKind::reduction) {
    item.info.values = detail::reduction_values(pipeline_, r);
    bytes = detail::reduction_json(item.info.values);
  } else {
    io::EncodeOptions eo;
    eo.jpeg_quality = opts_.jpeg_quality;
    eo.png_compression = opts_.png_compression;
    s = io::encode(r, item.out_format, eo, bytes);
    if (!s.ok()) s = s.with_context("cannot write " + item.output);
  }
  if (s.ok()) {
    std::error_code ec;
    fs::create_directories(fs::path(item.output).parent_path(), ec);
    s = io::write_file_atomic(item.output, bytes);
  }
  if (s.ok()) item.info.bytes_out = bytes.size();
  else item.info.output.clear();
  item.info.status = s;
  write_.add(seconds_since(t0));
}

// Streams one large .npy with the whole machine: the first GPU if there is
// one, else every CPU team's threads; chunks are a slice of the budget.
void Engine::run_streamed(ItemPtr item) {
  StreamConfig cfg;
  cfg.trace = &trace_;
  cfg.trace_track = trace_.track("stream " + item->input);
  cfg.chunk_bytes = std::max<std::size_t>(1u << 20, budget_.limit() / 8);
  Stream stream;
  if (!plan_.gpus.empty() && Stream::create(plan_.gpus[0].ordinal, stream).ok()) {
    cfg.exec = Exec::cuda(stream);
    item->info.device = "cuda:" + std::to_string(plan_.gpus[0].ordinal);
  } else {
    int threads = 0;
    for (const auto& t : plan_.teams) threads += static_cast<int>(t.slots.size());
    cfg.exec = Exec::cpu(threads);
    item->info.device = "cpu:all";
  }
  const auto t0 = Clock::now();
  {
    TraceScope scope(trace_, cfg.trace_track, "stream", "compute", item->input);
    item->info.status = stream_npy(pipeline_, item->input, item->output, cfg, item->info);
  }
  item->info.seconds = seconds_since(t0);
  bytes_in_.fetch_add(item->info.bytes_in);
  if (pipeline_.result_kind() == OpKind::reduction && item->info.status.ok()) {
    // Reductions write their JSON like any other item.
    const std::vector<std::byte> bytes = detail::reduction_json(item->info.values);
    item->info.status = io::write_file_atomic(item->output, bytes);
    item->info.bytes_out = bytes.size();
  }
  if (!item->info.status.ok()) item->info.output.clear();
  record(item->index, std::move(item->info));
}

void Engine::monitor() {
  for (;;) {
    {
      // Every 200 ms, and at once when the run ends (a short batch does not wait out a tick).
      std::unique_lock lock(monitor_mu_);
      if (monitor_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return finished_.load(); })) break;
    }
    if (!opts_.on_progress) continue;
    Progress p;
    p.total = total_;
    p.done = done_.load();
    p.failed = failed_.load();
    p.bytes_in = bytes_in_.load();
    p.elapsed = seconds_since(start_);
    {
      std::lock_guard lock(result_mu_);
      p.per_device = per_device_;
    }
    opts_.on_progress(p);
  }
}

Status Engine::run_files() {
  if (opts_.output_dir.empty()) return {Errc::invalid_argument, "no output directory given (-o DIR)"};
  if (opts_.inputs.empty()) return {Errc::invalid_argument, "no inputs given"};
  if (!opts_.format.empty() && !io::parse_format(opts_.format))
    return {Errc::invalid_argument, "unknown output format '" + opts_.format + "' (png, jpg, pgm, ppm, npy)"};
  std::error_code ec;
  fs::create_directories(opts_.output_dir, ec);
  if (ec || !fs::is_directory(opts_.output_dir))
    return {Errc::io_error, "cannot create output directory " + opts_.output_dir + (ec ? ": " + ec.message() : "")};
  const fs::path outdir = fs::canonical(opts_.output_dir, ec);
  std::int64_t stale = 0;
  (void)io::remove_stale_temporaries(outdir.string(), stale);

  std::vector<Listed> listed;
  std::size_t ignored = 0;
  TANDEM_TRY(list_inputs(opts_, listed, ignored));
  if (ignored)
    summary_.notices.push_back("ignored " + std::to_string(ignored) + " file" + (ignored == 1 ? "" : "s") +
                               " of no known format found in the input directories (name them or use --glob to include them)");
  if (listed.empty())
    return {Errc::invalid_argument, ignored ? "no input files of a known format found (" + std::to_string(ignored) +
                                                  " ignored: tandem reads .png .jpg .jpeg .jpe .pgm .ppm .npy; use --glob to include others)"
                                            : "no input files found (check the paths and --glob)"};

  // Decide every output path up front: safety checks, collisions, --resume.
  std::set<std::string> input_set;
  for (const auto& l : listed)
    if (l.error.ok()) input_set.insert(fs::weakly_canonical(l.input, ec).string());
  std::unordered_map<std::string, std::string> claimed;
  std::vector<ItemPtr> todo, streamed;
  for (std::size_t i = 0; i < listed.size(); ++i) {
    auto item = std::make_unique<Item>();
    item->index = i;
    item->input = listed[i].input;
    item->info.input = listed[i].input;
    Status s = listed[i].error;
    fs::path rel = listed[i].rel;
    if (s.ok()) {
      if (pipeline_.result_kind() == OpKind::reduction) {
        rel.replace_extension(".json");
      } else if (auto f = output_format(pipeline_, opts_, item->input)) {
        item->out_format = *f;
        if (io::format_from_path(rel.string()) != f) rel.replace_extension(extension_of(*f));
      } else {
        s = {Errc::unsupported, "cannot tell the format of " + item->input + " from its name; use --format"};
      }
    }
    if (s.ok()) {
      const fs::path out = (outdir / rel).lexically_normal();
      const fs::path parent = fs::weakly_canonical(out.parent_path(), ec);
      const std::string ps = parent.string(), os = outdir.string();
      if (ps.compare(0, os.size(), os) != 0 || (ps.size() > os.size() && ps[os.size()] != '/'))
        s = {Errc::invalid_argument, "refusing to write " + out.string() + ": outside the output directory " + os};
      else if (input_set.count(fs::weakly_canonical(out, ec).string()))
        s = {Errc::invalid_argument, "refusing to write " + out.string() + ": it is an input of this run"};
      else if (auto [it, fresh] = claimed.emplace(out.string(), item->input); !fresh)
        s = {Errc::invalid_argument, "output " + out.string() + " would be written by both " + it->second + " and " + item->input};
      item->output = out.string();
      item->info.output = item->output;
    }
    if (!s.ok()) {
      item->info.status = s;
      item->info.output.clear();
      record(item->index, std::move(item->info));
      continue;
    }
    if (opts_.resume && fs::exists(item->output, ec)) {
      item->info.skipped = true;
      std::lock_guard lock(result_mu_);
      results_.emplace_back(item->index, std::move(item->info));
      ++summary_.skipped;
      continue;
    }
    // A .npy too large to hold within the budget streams through in chunks
    // when the pipeline allows it (elementwise ops, maybe ending in a reduction).
    if (io::format_from_path(item->input) == io::Format::npy && can_stream(pipeline_)) {
      const auto size = fs::file_size(item->input, ec);
      if (!ec && size > budget_.limit() / 4) {
        item->streamed = true;
        streamed.push_back(std::move(item));
        continue;
      }
    }
    todo.push_back(std::move(item));
  }
  total_ = listed.size() - summary_.skipped;

  TANDEM_TRY(prepare());
  std::thread mon([this] { monitor(); });

  // Writers.
  const int n_writers = 2;
  write_.threads = n_writers;
  std::vector<std::thread> writers;
  for (int w = 0; w < n_writers; ++w)
    writers.emplace_back([this, w] {
      bind_thread_best_effort(plan_.codec_pus);
      const int track = trace_.track("writer " + std::to_string(w));
      while (auto item = write_q_->pop()) {
        write_one(**item, track);
        budget_.release((*item)->charge);
        record((*item)->index, std::move((*item)->info));
      }
    });

  // Decoders: on each node that computes (see EnginePlan::compute_nodes), so
  // an image is first touched where it will most likely be computed.
  struct Seat {
    int node;
    const std::vector<int>* pus;
  };
  std::vector<Seat> seats;
  for (const auto& node : plan_.compute_nodes)
    for (int i = 0; i < decoders_per_node(node, plan_.compute_nodes.size()); ++i) seats.push_back({node.numa_node, &node.pus});
  if (seats.empty()) {
    const int n = std::max(2, std::min<int>(4, static_cast<int>(std::thread::hardware_concurrency()) / 4));
    for (int i = 0; i < n; ++i) seats.push_back({-1, &plan_.codec_pus});
  }
  const int n_decoders = static_cast<int>(seats.size());
  decode_.threads = n_decoders;
  BoundedQueue<ItemPtr> decode_q(static_cast<std::size_t>(2 * n_decoders));
  std::atomic<int> decoders_left{n_decoders};
  std::vector<std::thread> decoders;
  for (int d = 0; d < n_decoders; ++d)
    decoders.emplace_back([&, d] {
      const Seat seat = seats[static_cast<std::size_t>(d)];
      bind_thread_best_effort(*seat.pus);
      const int track = trace_.track("decoder " + std::to_string(d) + (seat.node >= 0 ? " (numa " + std::to_string(seat.node) + ")" : ""));
      while (auto item = decode_q.pop()) {
        Item& it = **item;
        it.node = seat.node;
        const auto t0 = Clock::now();
        {
          TraceScope scope(trace_, track, "decode", "io", it.input);
          io::DecodeOptions dopt;
          dopt.max_pixels = static_cast<std::int64_t>(opts_.max_pixels);
          it.info.status = io::decode(it.bytes, it.input, it.host, dopt);
        }
        decode_.add(seconds_since(t0));
        if (it.info.status.ok()) estimator_.learn(it.bytes.size(), it.bytes.size() + 2 * it.host.view().nbytes());
        it.bytes = {};
        if (!it.info.status.ok() || cancelled()) {
          if (cancelled() && it.info.status.ok()) it.info.status = {Errc::cancelled, "cancelled before compute"};
          finish(std::move(*item));
          continue;
        }
        it.input_bytes = it.host.view().nbytes();
        work_->push(std::move(*item));
      }
      if (decoders_left.fetch_sub(1) == 1) work_->close();
    });

  start_compute();

  // Reader: admission control against the budget, then async reads.
  // Busy time of the read stage = summed latency of reads over the reads kept in flight.
  constexpr unsigned kReadDepth = 8;
  read_.threads = kReadDepth;
  // The reader runs on its own thread bound to the plan's I/O cores (the
  // io_uring completion thread it starts inherits that binding), not on the
  // caller's thread, whose affinity is the caller's business.
  std::thread reader_thread([&] {
    bind_thread_best_effort(plan_.io_pus);
    const int track = trace_.track("reader");
    std::mutex pending_mu;
    std::unordered_map<std::size_t, ItemPtr> pending;
    std::string why;
    auto reader = io::FileReader::create(
        [&](io::ReadRequest&& r) {
          ItemPtr item;
          {
            std::lock_guard lock(pending_mu);
            auto it = pending.find(r.id);
            item = std::move(it->second);
            pending.erase(it);
          }
          read_.add(seconds_since(item->read_start));  // latency of this read
          item->bytes = std::move(r.bytes);
          item->info.bytes_in = item->bytes.size();
          bytes_in_.fetch_add(item->bytes.size());
          if (!r.status.ok()) {
            item->info.status = r.status;
            finish(std::move(item));
            return;
          }
          decode_q.push(std::move(item));
        },
        kReadDepth, 2, opts_.use_io_uring, &why);
    if (!why.empty() && opts_.use_io_uring) {
      std::lock_guard lock(result_mu_);
      summary_.notices.push_back(why + "; reading with a pread pool");
    }
    read_.name = std::string("read (") + reader->backend() + ")";
    for (auto& item : todo) {
      if (cancelled()) break;
      std::error_code fec;
      const auto size = fs::file_size(item->input, fec);
      const auto format = io::format_from_path(item->input);
      const bool compressed = format == io::Format::png || format == io::Format::jpeg;
      item->charge = estimator_.estimate(fec ? 0 : static_cast<std::size_t>(size), compressed);
      if (!budget_.acquire(item->charge)) break;
      const double t0 = trace_.now_us();
      item->read_start = Clock::now();
      io::ReadRequest req;
      req.id = item->index;
      req.path = item->input;
      {
        std::lock_guard lock(pending_mu);
        pending.emplace(item->index, std::move(item));
      }
      const std::string path = req.path;
      reader->submit(std::move(req), fec ? 0 : static_cast<std::size_t>(size));
      if (trace_.enabled()) trace_.span(track, "submit read", "io", t0, trace_.now_us(), path);
    }
    reader->drain();
  });
  reader_thread.join();
  std::size_t not_started = 0;
  for (auto& item : todo)
    if (item) ++not_started;  // never admitted (cancelled)
  for (auto& item : streamed)
    if (item && cancelled()) ++not_started;
  decode_q.close();
  for (auto& t : decoders) t.join();
  join_compute();
  write_q_->close();
  for (auto& t : writers) t.join();
  for (auto& item : streamed) {
    if (cancelled()) break;
    run_streamed(std::move(item));
  }
  finish_monitor();
  mon.join();
  summarize();
  summary_.not_started += not_started;
  summary_.cancelled = cancelled();
  return {};
}

Status Engine::run_tensors(const std::vector<View>& inputs,
                           const std::function<void(std::size_t, const Status&, Tensor&)>& on_result) {
  on_tensor_ = on_result;
  total_ = inputs.size();
  TANDEM_TRY(prepare());
  std::thread mon([this] { monitor(); });
  start_compute();
  std::size_t i = 0;
  for (; i < inputs.size(); ++i) {
    if (cancelled()) break;
    auto item = std::make_unique<Item>();
    item->index = i;
    item->input = "#" + std::to_string(i);
    item->info.input = item->input;
    item->borrowed = &inputs[i];
    item->input_bytes = inputs[i].nbytes();
    if (!inputs[i].device.is_cpu()) {
      item->info.status = {Errc::invalid_argument, "run_tensors takes host tensors; input " + item->input + " is on " + inputs[i].device.str()};
      finish(std::move(item));
      continue;
    }
    if (!work_->push(std::move(item))) break;
  }
  work_->close();
  join_compute();
  finish_monitor();
  mon.join();
  summarize();
  summary_.not_started += inputs.size() - i;
  summary_.cancelled = cancelled();
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------

Status run_batch(const Pipeline& pipeline, const RunOptions& options, RunSummary& summary) {
  summary = RunSummary{};
  Engine e(pipeline, options, summary);
  return e.run_files();
}

Status run_tensors(const Pipeline& pipeline, const std::vector<View>& inputs, const RunOptions& options,
                   const std::function<void(std::size_t, const Status&, Tensor&)>& on_result, RunSummary& summary) {
  summary = RunSummary{};
  Engine e(pipeline, options, summary);
  return e.run_tensors(inputs, on_result);
}

}  // namespace tandem
