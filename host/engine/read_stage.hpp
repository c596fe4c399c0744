// The read stage: whole files into memory, kept in flight ahead of the
// decoders through io_uring (else a pread pool), on a thread bound to the
// plan's I/O cores. Items arrive here already admitted (charged to the budget).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "host/engine/context.hpp"
#include "host/engine/queue.hpp"
#include "io/reader.hpp"

namespace tandem::engine {

class ReadStage {
 public:
  static constexpr unsigned kDepth = 8;  ///< reads in flight

  /// Read items go to `on_read`, items whose read failed (status set) to `on_failed`.
  ReadStage(Context& ctx, ItemSink on_read, ItemSink on_failed);
  ~ReadStage();

  /// Starts the reader thread; the stage's clock counts kDepth workers.
  void start();
  /// Queues `item` for reading (blocks while the stage is full).
  void process(ItemPtr item);
  /// Waits for every queued read to complete and ends the thread.
  void stop();
  /// "io_uring" or "pread", once started.
  [[nodiscard]] const std::string& backend() const { return backend_; }

 private:
  void loop();

  Context& ctx_;
  ItemSink on_read_, on_failed_;
  BoundedQueue<ItemPtr> feed_{kDepth};
  std::thread thread_;
  std::string backend_;  // set on the reader thread before any read completes
};

}  // namespace tandem::engine
