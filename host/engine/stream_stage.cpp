// The .npy streaming stage.
#include "host/engine/stream_stage.hpp"

#include <algorithm>

#include "host/engine/stream.hpp"
#include "host/ops/reduction.hpp"
#include "tandem/io/file.hpp"

namespace tandem::engine {

void StreamStage::process(ItemPtr item) {
  StreamConfig cfg;
  cfg.trace = &ctx_.trace;
  cfg.trace_track = ctx_.trace.track("stream " + item->input);
  cfg.chunk_bytes = std::max<std::size_t>(1u << 20, ctx_.admission.limit() / 8);
  Stream stream;
  if (!ctx_.plan.gpus.empty() && Stream::create(ctx_.plan.gpus[0].ordinal, stream).ok()) {
    cfg.exec = Exec::cuda(stream);
    item->info.device = "cuda:" + std::to_string(ctx_.plan.gpus[0].ordinal);
  } else {
    int threads = 0;
    for (const auto& t : ctx_.plan.teams) threads += static_cast<int>(t.slots.size());
    cfg.exec = Exec::cpu(threads);
    item->info.device = "cpu:all";
  }
  const auto t0 = Clock::now();
  {
    TraceScope scope(ctx_.trace, cfg.trace_track, "stream", "compute", item->input);
    item->info.status = stream_npy(ctx_.pipeline, item->input, item->output, cfg, item->info);
  }
  item->info.seconds = seconds_since(t0);
  if (ctx_.pipeline.result_kind() == OpKind::reduction && item->info.status.ok()) {
    // Reductions write their JSON like any other item.
    const std::vector<std::byte> bytes = detail::reduction_json(item->info.values);
    item->info.status = io::write_file_atomic(item->output, bytes);
    item->info.bytes_out = bytes.size();
  }
  if (!item->info.status.ok()) item->info.output.clear();
  on_done_(std::move(item));
}

}  // namespace tandem::engine
