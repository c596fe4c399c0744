// The decode stage.
#include "host/engine/decode_stage.hpp"

#include <algorithm>

namespace tandem::engine {

// decoders_per_node on each compute node, seated on its cores; without NUMA
// information, 2 to 4 on the codec cores (at least 2, so a slow image never
// stalls the batch).
std::vector<DecodeStage::Seat> DecodeStage::make_seats(const EnginePlan& plan) {
  std::vector<Seat> seats;
  for (const auto& node : plan.compute_nodes)
    for (int i = 0; i < decoders_per_node(node, plan.compute_nodes.size()); ++i) seats.push_back({node.numa_node, &node.pus});
  if (seats.empty()) {
    const int n = std::max(2, std::min<int>(4, static_cast<int>(std::thread::hardware_concurrency()) / 4));
    seats.assign(std::size_t(n), {-1, &plan.codec_pus});
  }
  return seats;
}

DecodeStage::DecodeStage(Context& ctx, ItemSink on_decoded, ItemSink on_failed)
    : ctx_(ctx),
      on_decoded_(std::move(on_decoded)),
      on_failed_(std::move(on_failed)),
      seats_(make_seats(ctx.plan)),
      workers_(2 * seats_.size()) {}

void DecodeStage::start() {
  ctx_.decode.threads = threads();
  workers_.start(seats_.size(), [this](std::size_t d) { loop(d); });
}

Status DecodeStage::decode(Context& ctx, Item& it, int track) {
  const auto t0 = Clock::now();
  Status s;
  {
    TraceScope scope(ctx.trace, track, "decode", "io", it.input);
    io::DecodeOptions dopt;
    dopt.max_pixels = static_cast<std::int64_t>(ctx.opts.max_pixels);
    dopt.max_bytes = it.decode_limit;
    dopt.page = it.page;
    dopt.apply_orientation = !ctx.opts.raw_orientation;
    if (!ctx.opts.strip_metadata) dopt.metadata = &it.metadata;
    // With GPUs in the plan, straight into pinned memory (reused blocks, see
    // Buffer::allocate): a GPU feeder uploads a lone item from it as it is.
    if (!ctx.plan.gpus.empty()) dopt.pinned_for = ctx.plan.gpus[0].device;
    s = io::decode(it.bytes, it.input, it.host, dopt);
  }
  ctx.decode.add(seconds_since(t0));
  if (s.ok()) it.input_bytes = it.host.view().nbytes();
  it.info.notes = std::move(it.metadata.dropped);
  it.metadata.dropped.clear();
  it.bytes = {};
  return s;
}

void DecodeStage::loop(std::size_t d) {
  const Seat seat = seats_[d];
  bind_thread_best_effort(*seat.pus);
  const int track =
      ctx_.trace.track("decoder " + std::to_string(d) + (seat.node >= 0 ? " (numa " + std::to_string(seat.node) + ")" : ""));
  while (auto next = workers_.pop()) {
    ItemPtr item = std::move(*next);
    item->node = seat.node;
    item->info.status = decode(ctx_, *item, track);
    if (!item->info.status.ok()) {
      on_failed_(std::move(item));
      continue;
    }
    on_decoded_(std::move(item));
  }
}

}  // namespace tandem::engine
