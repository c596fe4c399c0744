// The read stage.
#include "host/engine/read_stage.hpp"

#include <filesystem>
#include <mutex>
#include <unordered_map>

namespace tandem::engine {

ReadStage::ReadStage(Context& ctx, ItemSink on_read, ItemSink on_failed)
    : ctx_(ctx), on_read_(std::move(on_read)), on_failed_(std::move(on_failed)) {}

ReadStage::~ReadStage() {
  if (thread_.joinable()) stop();
}

void ReadStage::start() {
  ctx_.read.threads = kDepth;
  thread_ = std::thread([this] { loop(); });
}

void ReadStage::process(ItemPtr item) { feed_.push(std::move(item)); }

void ReadStage::stop() {
  feed_.close();
  if (thread_.joinable()) thread_.join();
}

// The reader runs on its own thread bound to the plan's I/O cores (the
// io_uring completion thread it starts inherits that binding), not on the
// caller's thread, whose affinity is the caller's business. Busy time of the
// stage = summed latency of the reads.
void ReadStage::loop() {
  bind_thread_best_effort(ctx_.plan.io_pus);
  const int track = ctx_.trace.track("reader");
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
        ctx_.read.add(seconds_since(item->read_start));
        item->bytes = std::move(r.bytes);
        item->info.bytes_in = item->bytes.size();
        if (!r.status.ok()) {
          item->info.status = r.status;
          on_failed_(std::move(item));
          return;
        }
        on_read_(std::move(item));
      },
      kDepth, 2, ctx_.opts.use_io_uring, &why);
  if (!why.empty() && ctx_.opts.use_io_uring) ctx_.notice(why + "; reading with a pread pool");
  backend_ = reader->backend();
  ctx_.read.name = "read (" + backend_ + ")";
  while (auto next = feed_.pop()) {
    ItemPtr item = std::move(*next);
    std::error_code ec;
    const auto size = std::filesystem::file_size(item->input, ec);
    const double t0 = ctx_.trace.now_us();
    item->read_start = Clock::now();
    io::ReadRequest req;
    req.id = item->index;
    req.path = item->input;
    {
      std::lock_guard lock(pending_mu);
      pending.emplace(item->index, std::move(item));
    }
    const std::string path = req.path;
    reader->submit(std::move(req), ec ? 0 : static_cast<std::size_t>(size));
    if (ctx_.trace.enabled()) ctx_.trace.span(track, "submit read", "io", t0, ctx_.trace.now_us(), path);
  }
  reader->drain();
}

}  // namespace tandem::engine
