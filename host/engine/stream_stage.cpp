// The .npy streaming stage.
#include "host/engine/stream_stage.hpp"

#include <algorithm>

#include "host/core/device_backend.hpp"
#include "host/engine/stream.hpp"
#include "host/ops/reduction.hpp"
#include "tandem/io/file.hpp"
#include "tandem/io/npy.hpp"

namespace tandem::engine {

namespace {

Exec all_cpu_threads(const EnginePlan& plan) {
  int threads = 0;
  for (const auto& t : plan.teams) threads += static_cast<int>(t.slots.size());
  return Exec::cpu(threads);
}

bool device_failure(const Status& s) { return detail::is_retryable(s) || detail::is_sticky(s); }

}  // namespace

void StreamStage::process(ItemPtr item) {
  StreamConfig cfg;
  cfg.trace = &ctx_.trace;
  cfg.write.fsync = ctx_.opts.fsync;
  cfg.trace_track = ctx_.trace.track("stream " + item->input);
  // Chunks sized for speed (kStreamChunkBytes), smaller only when the budget
  // cannot hold the chunks in flight; what they hold is charged to the budget.
  std::size_t element = 1;
  {
    io::NpyReader probe;
    if (probe.open(item->input).ok()) {
      element = std::max<std::size_t>(1, dtype_size(probe.header().dtype));
      item->info.status = check_npy_dtype(item->input, probe.header());
      if (!item->info.status.ok()) {
        item->info.output.clear();
        on_done_(std::move(item));
        return;
      }
    }
  }
  cfg.chunk_bytes = kStreamChunkBytes;
  while (cfg.chunk_bytes > (64u << 10) && stream_footprint(cfg.chunk_bytes, element) > ctx_.admission.limit())
    cfg.chunk_bytes /= 2;
  item->charge = static_cast<std::size_t>(stream_footprint(cfg.chunk_bytes, element));
  if (!ctx_.admission.acquire(item->charge)) {
    item->info.status = {Errc::cancelled, "cancelled before it was streamed"};
    item->info.output.clear();
    on_done_(std::move(item));
    return;
  }
  Stream stream;
  if (!ctx_.plan.gpus.empty() && Stream::create(ctx_.plan.gpus[0].device, stream).ok()) {
    cfg.exec = Exec::on(stream);
    item->info.device = ctx_.plan.gpus[0].device.str();
  } else {
    cfg.exec = all_cpu_threads(ctx_.plan);
    item->info.device = "cpu:all";
  }
  const auto t0 = Clock::now();
  {
    TraceScope scope(ctx_.trace, cfg.trace_track, "stream", "compute", item->input);
    item->info.status = stream_npy(ctx_.pipeline, item->input, item->output, cfg, item->info);
    // The output is written atomically, so a device failure leaves nothing
    // behind: the whole array streams again on the CPU.
    if (!cfg.exec.device.is_cpu() && device_failure(item->info.status)) {
      item->info.retried_on_cpu = true;
      item->info.device = "cpu:all (retry of " + item->info.device + ")";
      cfg.exec = all_cpu_threads(ctx_.plan);
      item->info.values.clear();
      item->info.status = stream_npy(ctx_.pipeline, item->input, item->output, cfg, item->info);
    }
  }
  item->info.seconds = seconds_since(t0);
  if (ctx_.pipeline.result_kind() == OpKind::reduction && item->info.status.ok()) {
    // Reductions write their JSON like any other item.
    const std::vector<std::byte> bytes = detail::reduction_json(item->info.values);
    item->info.status = io::write_file_atomic(item->output, bytes, cfg.write);
    item->info.bytes_out = bytes.size();
  }
  if (!item->info.status.ok()) item->info.output.clear();
  on_done_(std::move(item));
}

}  // namespace tandem::engine
