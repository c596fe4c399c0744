// The decode stage: file bytes to tensors, on decoder threads seated on each
// NUMA node that computes (EnginePlan::compute_nodes), so an image is first
// touched where it will most likely be computed.
#pragma once

#include <thread>
#include <vector>

#include "host/engine/context.hpp"
#include "host/engine/queue.hpp"

namespace tandem::engine {

class DecodeStage {
 public:
  /// Decoded items go to `on_decoded`; items that failed to decode, or that
  /// arrive after the run was cancelled, go to `on_failed` with their status.
  DecodeStage(Context& ctx, ItemSink on_decoded, ItemSink on_failed);

  /// Starts the decoder threads (their number: decoders_per_node per compute node).
  void start();
  /// Queues `item` (its bytes read) for decoding; blocks while the stage is full.
  void process(ItemPtr item) { workers_.push(std::move(item)); }
  /// Decodes what is queued, then ends the threads.
  void stop() { workers_.stop(); }
  [[nodiscard]] int threads() const { return static_cast<int>(seats_.size()); }

  /// Decodes one item in place (bytes -> host tensor); what a decoder thread does.
  static Status decode(Context& ctx, Item& item, int track);

 private:
  struct Seat {
    int node;
    const std::vector<int>* pus;
  };
  static std::vector<Seat> make_seats(const EnginePlan& plan);
  void loop(std::size_t seat);

  Context& ctx_;
  ItemSink on_decoded_, on_failed_;
  std::vector<Seat> seats_;
  WorkerPool<ItemPtr> workers_;  // last: its threads end before the members they use
};

}  // namespace tandem::engine
