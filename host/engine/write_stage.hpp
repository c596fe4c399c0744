// The encode+write stage: results encoded (or a reduction's JSON) and written
// atomically (a temporary name, renamed when complete), on writer threads
// bound to the plan's codec cores.
#pragma once

#include <thread>
#include <vector>

#include "host/engine/context.hpp"
#include "host/engine/queue.hpp"

namespace tandem::engine {

class WriteStage {
 public:
  static constexpr int kWriters = 2;

  /// Written (or failed) items go to `on_written` with their status set.
  WriteStage(Context& ctx, ItemSink on_written);

  void start();
  /// Queues a computed item; blocks while the stage is full.
  void process(ItemPtr item) { workers_.push(std::move(item)); }
  /// Writes what is queued, then ends the threads.
  void stop() { workers_.stop(); }

  /// Encodes and writes one item; what a writer thread does.
  static void write(Context& ctx, Item& item, int track);

 private:
  void loop(std::size_t w);

  Context& ctx_;
  ItemSink on_written_;
  WorkerPool<ItemPtr> workers_{8};  // last: its threads end before the members they use
};

}  // namespace tandem::engine
