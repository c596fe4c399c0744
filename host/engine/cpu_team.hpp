// The CPU team stage: one thread per team of the plan, bound with its OpenMP
// team to the team's cores, pulling items from the shared work queue (its own
// NUMA node's first) and running the whole pipeline on each.
#pragma once

#include <string>
#include <thread>
#include <vector>

#include "host/engine/context.hpp"
#include "host/engine/scheduler.hpp"

namespace tandem::engine {

class CpuTeams {
 public:
  /// Computed (or failed) items go to `on_done`.
  CpuTeams(Context& ctx, WorkQueue<Item>& work, ItemSink on_done);

  void start();
  /// Waits for the teams, which end when the work queue is closed and drained.
  void stop();

  /// Runs the pipeline on `item` with `threads` OpenMP threads (0: the
  /// caller's default) and records it as done by `device`.
  static void compute(Context& ctx, Item& item, int threads, const std::string& device);

 private:
  void loop(const EngineTeam& team);

  Context& ctx_;
  WorkQueue<Item>& work_;
  ItemSink on_done_;
  std::vector<std::jthread> threads_;  // last: joined before the members they use
};

}  // namespace tandem::engine
