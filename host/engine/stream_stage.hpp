// The .npy streaming stage: an array too large for the budget goes through an
// elementwise pipeline in chunks (host/engine/stream.cpp) with the whole
// machine: the first GPU if there is one, else every CPU team's threads.
// It runs after the batch, one item at a time.
#pragma once

#include "host/engine/context.hpp"

namespace tandem::engine {

class StreamStage {
 public:
  /// Streamed (or failed) items go to `on_done` with their status set.
  StreamStage(Context& ctx, ItemSink on_done) : ctx_(ctx), on_done_(std::move(on_done)) {}

  void start() {}
  /// Streams one item, then hands it on.
  void process(ItemPtr item);
  void stop() {}

 private:
  Context& ctx_;
  ItemSink on_done_;
};

}  // namespace tandem::engine
