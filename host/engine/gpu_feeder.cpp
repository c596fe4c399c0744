// The GPU feeder stage.
#include "host/engine/gpu_feeder.hpp"

#include <algorithm>
#include <string>

#include "host/core/device_backend.hpp"
#include "host/engine/cpu_team.hpp"

namespace tandem::engine {

namespace {

constexpr std::size_t kAlign = 256;  // every packed tensor starts on a 256-byte boundary
std::size_t align_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// A tensor of `like`'s dtype and shape at `base + off`.
View packed(void* base, std::size_t off, const View& like, Device where) {
  return View::array(static_cast<std::byte*>(base) + off, like.dtype,
                     std::span<const std::int64_t>(like.shape.data(), std::size_t(like.ndim)), where);
}

std::string batch_label(const std::vector<ItemPtr>& items) {
  return items.size() == 1 ? items[0]->input : std::to_string(items.size()) + " items from " + items[0]->input;
}

// Trace stamps taken on the device's timeline: a host callback queued on the
// stream records when the stream reached it.
struct GpuTimes {
  Trace* trace;
  double t[4];
};
void stamp(void* p) {
  auto* slot = static_cast<std::pair<GpuTimes*, int>*>(p);
  slot->first->t[slot->second] = slot->first->trace->now_us();
}

// One GPU's feeder: its two stream slots and the batches they carry.
class Feeder {
 public:
  Feeder(Context& ctx, WorkQueue<Item>& work, const ItemSink& on_done, const EngineGpu& gpu)
      : ctx_(ctx), work_(work), on_done_(on_done), gpu_(gpu), device_(gpu.device.str()), dev_(gpu.device) {}

  void run();

 private:
  struct Slot {
    Stream stream;
    Buffer pin_in, pin_out;
    std::vector<ItemPtr> items;
    std::vector<Tensor> dev_results;
    std::vector<std::size_t> out_offsets;
    Tensor direct_result;  // a lone item's result, downloaded straight into pinned memory
    std::size_t batch_bytes = 0;
    Clock::time_point t0;
    GpuTimes times{};
    std::pair<GpuTimes*, int> marks[4];
    int track = 0;
  };

  Status open();
  Status grow(Buffer& b, std::size_t bytes) const;
  Status mark(Slot& slot, int k);
  void fail_or_retry(ItemPtr item, const Status& s);
  void launch(Slot& slot, std::vector<ItemPtr>& batch);
  void complete(Slot& slot);
  void retire(const Status& why);

  Context& ctx_;
  WorkQueue<Item>& work_;
  const ItemSink& on_done_;
  const EngineGpu& gpu_;
  const std::string device_;
  const Device dev_;
  Slot slots_[2];
  int host_track_ = 0;
  bool lost_ = false;  // a sticky error: the device takes no more work
};

Status Feeder::open() {
  for (int i = 0; i < 2; ++i) {
    TANDEM_TRY(Stream::create(dev_, slots_[i].stream));
    slots_[i].times.trace = &ctx_.trace;
    for (int k = 0; k < 4; ++k) slots_[i].marks[k] = {&slots_[i].times, k};
    slots_[i].track = ctx_.trace.track(device_ + " stream " + std::to_string(i));
  }
  host_track_ = ctx_.trace.track(device_ + " feeder");
  return {};
}

// Pinned buffers grow by half again at least (rounded to 1 MiB): every
// allocation and free of pinned memory synchronises the device, so a batch a
// little larger than the last must not cost one.
Status Feeder::grow(Buffer& b, std::size_t bytes) const {
  if (b.size() >= bytes) return {};
  constexpr std::size_t kMiB = 1u << 20;
  const std::size_t want = (std::max(bytes, b.size() + b.size() / 2) + kMiB - 1) / kMiB * kMiB;
  b.reset();
  return Buffer::allocate(want, MemKind::pinned, b, dev_);
}

Status Feeder::mark(Slot& slot, int k) {
  if (!ctx_.trace.enabled()) return {};
  return detail::backend_for(dev_)->host_callback(slot.stream.handle(), stamp, &slot.marks[k]);
}

// A sticky error leaves the device unusable: this feeder stops taking work
// (what it holds is retried on the CPU) instead of failing every later batch.
void Feeder::retire(const Status& why) {
  if (lost_) return;
  lost_ = true;
  ctx_.notice(device_ + " lost (" + why.message() + "); its worker retired and its items went to the CPU");
}

void Feeder::fail_or_retry(ItemPtr item, const Status& s) {
  item->info.status = s;
  item->info.device = device_;
  if (detail::is_sticky(s)) retire(s);
  // On the CPU: what the device could not do (or may do later) the CPU can.
  const bool retry = detail::is_retryable(s) || detail::is_sticky(s);
  if (!retry) {
    on_done_(std::move(item));
    return;
  }
  item->info.retried_on_cpu = true;
  if (!ctx_.plan.teams.empty()) {
    work_.push_retry(std::move(item));
    return;
  }
  CpuTeams::compute(ctx_, *item, 0, "cpu (retry of " + device_ + ")");
  on_done_(std::move(item));
}

// Waits for a slot's batch and hands its items on.
void Feeder::complete(Slot& slot) {
  if (slot.items.empty()) return;
  const Status s = slot.stream.synchronize();
  const double secs = seconds_since(slot.t0);
  if (ctx_.trace.enabled()) {
    const std::string label = batch_label(slot.items);
    ctx_.trace.span(slot.track, "H2D", "copy", slot.times.t[0], slot.times.t[1], label);
    ctx_.trace.span(slot.track, "kernels", "gpu", slot.times.t[1], slot.times.t[2], label);
    ctx_.trace.span(slot.track, "D2H", "copy", slot.times.t[2], slot.times.t[3], label);
  }
  ctx_.compute_gpu.add(secs);
  const double n = static_cast<double>(slot.items.size());
  for (std::size_t i = 0; i < slot.items.size(); ++i) {
    ItemPtr item = std::move(slot.items[i]);
    Status si = s;
    if (si.ok() && slot.direct_result.buffer().data()) {
      item->result = std::move(slot.direct_result);  // already in host memory
    } else if (si.ok()) {
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
    ctx_.model.observe(ThroughputModel::gpu, item->input_bytes, share);
    item->info.status = {};
    item->info.device = device_;
    item->info.seconds += share;
    item->info.gpu_batch = slot.items.size();
    on_done_(std::move(item));
  }
  slot.items.clear();
  slot.dev_results.clear();
  slot.out_offsets.clear();
  slot.direct_result = Tensor();
}

// A lone item decoded into pinned memory (DecodeStage) uploads from there,
// and its result downloads straight into a pinned tensor that the writers
// encode from: no staging copies on this thread.
bool travels_direct(const std::vector<ItemPtr>& batch) {
  return batch.size() == 1 && !batch[0]->borrowed && batch[0]->host.buffer().kind() == MemKind::pinned &&
         batch[0]->host.view().is_contiguous();
}

// Packs `batch` into the slot's pinned buffer (pageable -> pinned, on this
// GPU-local core; a lone pinned item is used as it is), uploads it, queues the pipeline on each item and the
// download of their results.
void Feeder::launch(Slot& slot, std::vector<ItemPtr>& batch) {
  TraceScope scope(ctx_.trace, host_track_, "stage+launch", "gpu", batch_label(batch));
  slot.t0 = Clock::now();
  const std::size_t n = batch.size();
  std::vector<std::size_t> in_off(n), out_off(n);
  std::size_t in_total = 0;
  slot.batch_bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    in_off[i] = in_total;
    in_total = align_up(in_total + batch[i]->input_view().nbytes());
    slot.batch_bytes += batch[i]->input_bytes;
  }
  const bool direct = travels_direct(batch);
  void* staged_in = direct ? batch[0]->host.view().data : nullptr;
  Status s;
  if (!direct) {
    s = grow(slot.pin_in, std::max<std::size_t>(in_total, 1));
    staged_in = slot.pin_in.data();
  }
  for (std::size_t i = 0; i < n && s.ok() && !direct; ++i)
    s = copy(batch[i]->input_view(), packed(slot.pin_in.data(), in_off[i], batch[i]->input_view(), Device::cpu()));
  std::vector<Tensor> outs(n);
  std::vector<Status> item_status(n);
  if (s.ok()) {
    StreamAllocScope alloc(slot.stream);
    Buffer dev_in;  // freed stream-ordered at the end of this scope, after the kernels
    s = Buffer::allocate(std::max<std::size_t>(in_total, 1), MemKind::device, dev_in, dev_);
    if (s.ok()) s = mark(slot, 0);
    if (s.ok()) {
      // A lone pinned item is its own buffer: exactly its bytes, not the packing's rounding.
      const std::int64_t bytes = direct ? batch[0]->input_view().nbytes() : static_cast<std::int64_t>(in_total);
      s = copy(View::array(staged_in, DType::u8, {bytes}), View::array(dev_in.data(), DType::u8, {bytes}, dev_),
               slot.stream.handle());
    }
    if (s.ok()) s = mark(slot, 1);
    const Exec exec = Exec::on(slot.stream);
    for (std::size_t i = 0; i < n && s.ok(); ++i)
      item_status[i] = ctx_.pipeline.apply(packed(dev_in.data(), in_off[i], batch[i]->input_view(), dev_), outs[i], exec);
    if (s.ok()) s = mark(slot, 2);
    std::size_t out_total = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (item_status[i].ok()) {
        out_off[i] = out_total;
        out_total = align_up(out_total + outs[i].view().nbytes());
      }
    if (s.ok() && direct && item_status[0].ok()) {
      const View& r = outs[0].view();
      s = Buffer::allocate(std::max<std::size_t>(r.nbytes(), 1), MemKind::pinned, slot.direct_result.buffer(), dev_);
      if (s.ok()) {
        slot.direct_result.view() = packed(slot.direct_result.buffer().data(), 0, r, Device::cpu());
        s = copy(r, slot.direct_result.view(), slot.stream.handle());
      }
    } else if (s.ok() && !direct) {
      s = grow(slot.pin_out, std::max<std::size_t>(out_total, 1));
      for (std::size_t i = 0; i < n && s.ok(); ++i)
        if (item_status[i].ok())
          s = copy(outs[i].view(), packed(slot.pin_out.data(), out_off[i], outs[i].view(), Device::cpu()),
                   slot.stream.handle());
    }
    if (s.ok()) s = mark(slot, 3);
  }
  if (!s.ok()) {
    (void)slot.stream.synchronize();
    slot.direct_result = Tensor();
    for (auto& item : batch) fail_or_retry(std::move(item), s);
    batch.clear();
    return;
  }
  // A failed lone item may free its pinned input next: its upload must be over.
  if (direct && !item_status[0].ok()) (void)slot.stream.synchronize();
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

void Feeder::run() {
  if (Status s = open(); !s.ok()) {
    ctx_.notice(device_ + " unusable (" + s.message() + "); its items go to the CPU");
    return;
  }
  std::size_t k = 0;
  std::vector<ItemPtr> batch;
  for (;;) {
    if (!work_.pop_gpu_batch(batch, gpu_.numa_node, WorkQueue<Item>::kBatchMaxItems, WorkQueue<Item>::kBatchMaxBytes,
                             /*wait=*/false)) {
      // Nothing to take now: hand the batches in flight on before waiting.
      // Their items hold I/O budget that the reader may need to admit the
      // next item, so waiting with them held could wait forever.
      complete(slots_[k % 2]);  // the older one first
      complete(slots_[(k + 1) % 2]);
      if (!work_.pop_gpu_batch(batch, gpu_.numa_node)) break;
    }
    Slot& slot = slots_[k++ % 2];
    complete(slot);  // the batch this slot carried two rounds ago
    if (lost_) break;
    launch(slot, batch);
    if (lost_) break;
  }
  complete(slots_[0]);
  complete(slots_[1]);
  // A retired feeder hands back what it took but did not launch; with no CPU
  // team to take the rest, it computes the remaining items itself on the CPU.
  for (auto& item : batch) fail_or_retry(std::move(item), {Errc::device_lost, device_ + " was lost"});
  batch.clear();
  if (lost_ && ctx_.plan.teams.empty())
    while (work_.pop_gpu_batch(batch, gpu_.numa_node))
      for (auto& item : batch) fail_or_retry(std::move(item), {Errc::device_lost, device_ + " was lost"});
}

}  // namespace

GpuFeeders::GpuFeeders(Context& ctx, WorkQueue<Item>& work, ItemSink on_done)
    : ctx_(ctx), work_(work), on_done_(std::move(on_done)) {}

void GpuFeeders::start() {
  ctx_.compute_gpu.threads = static_cast<int>(ctx_.plan.gpus.size());
  for (const auto& g : ctx_.plan.gpus)
    threads_.emplace_back([this, &g] {
      bind_thread_best_effort(g.pus);
      Feeder(ctx_, work_, on_done_, g).run();
      work_.gpu_worker_done();
    });
}

void GpuFeeders::stop() { threads_.clear(); }  // joins

}  // namespace tandem::engine
