// The GPU feeder stage: one thread per GPU of the plan, on a GPU-local core,
// pulling batches from the shared work queue and keeping the device busy with
// two streams, each with its own pinned staging buffers: while one batch's
// kernels run, the next one uploads and the previous one downloads. Small
// images travel in batches (WorkQueue::pop_gpu_batch): packed into one pinned
// buffer, one upload, the pipeline on each, their results packed into one
// pinned buffer, one synchronisation for all. An item that fails on the
// device is retried alone on the CPU.
#pragma once

#include <thread>
#include <vector>

#include "host/engine/context.hpp"
#include "host/engine/scheduler.hpp"

namespace tandem::engine {

class GpuFeeders {
 public:
  /// Computed (or failed) items go to `on_done`; items to retry go back to
  /// `work` for the CPU teams (or are computed on the feeder's thread when
  /// the plan has no CPU team).
  GpuFeeders(Context& ctx, WorkQueue<Item>& work, ItemSink on_done);

  void start();
  /// Waits for the feeders, which end when the work queue has nothing left for GPUs.
  void stop();

 private:
  Context& ctx_;
  WorkQueue<Item>& work_;
  ItemSink on_done_;
  std::vector<std::jthread> threads_;  // last: joined before the members they use
};

}  // namespace tandem::engine
