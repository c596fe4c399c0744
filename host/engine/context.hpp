// What the stages of the batch engine share: the item that flows through
// them, the per-stage clocks, and the run's context (pipeline, options, plan,
// trace, throughput model, admission). Each stage is one file of host/engine/
// (docs/architecture.md); engine.cpp wires them together.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/engine/admission.hpp"
#include "host/engine/engine_plan.hpp"
#include "host/engine/model.hpp"
#include "host/engine/trace.hpp"
#include "tandem/engine.hpp"
#include "tandem/io/codec.hpp"

namespace tandem::engine {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// One input on its way through the stages.
struct Item {
  std::size_t index = 0;
  std::string input;             // path (files) or "#N" (tensors)
  std::string output;            // final output path
  io::Format out_format = io::Format::png;
  std::vector<std::byte> bytes;  // file contents, until decoded
  const View* borrowed = nullptr;  // run_tensors: the caller's tensor
  Tensor host;                   // decoded input
  io::Metadata metadata;         // the input's ICC profile and EXIF, for its output
  Tensor result;                 // host result
  std::size_t charge = 0;        // bytes charged to the budget at admission
  std::uint64_t decode_limit = 0;  // decoded bytes admission allowed (0: unlimited)
  int page = 0;                  // TIFF: the page this item is
  int tiff_compression = 8;      // TIFF: written back with the input's compression
  std::size_t input_bytes = 0;
  std::uint64_t listed_bytes = 0;  // the listing's bytes for it (a TIFF page: its part of the file)
  bool cpu_only = false;         // a device failed it: CPU teams only
  int node = -1;                 // NUMA node it was decoded on (-1: unknown)
  Clock::time_point read_start;  // when its read was submitted
  ItemResult info;

  const View& input_view() const { return borrowed ? *borrowed : host.view(); }
};
using ItemPtr = std::unique_ptr<Item>;
/// Where a stage hands an item on.
using ItemSink = std::function<void(ItemPtr)>;

/// Busy time of one stage, summed over its threads.
struct StageClock {
  std::string name;
  int threads = 0;
  std::atomic<double> busy{0};
  explicit StageClock(std::string n) : name(std::move(n)) {}
  void add(double s) {
    double cur = busy.load();
    while (!busy.compare_exchange_weak(cur, cur + s)) {
    }
  }
};

/// The run's shared state. The stages read it; only the wiring (engine.cpp,
/// the pipeline bench) creates it.
struct Context {
  Context(const Pipeline& p, const RunOptions& o, EnginePlan plan_);

  const Pipeline& pipeline;
  const RunOptions& opts;
  EnginePlan plan;
  Trace trace;
  ThroughputModel model;
  Admission admission;
  StageClock read{"read"}, decode{"decode"}, compute_cpu{"compute cpu"}, compute_gpu{"compute gpu"},
      write{"encode+write"};

  [[nodiscard]] bool cancelled() const { return opts.cancel && opts.cancel->load(); }
  /// A line for the run's summary ("cuda:1 unusable (...); its items go to the CPU").
  void notice(std::string text);
  [[nodiscard]] std::vector<std::string> take_notices();

 private:
  std::mutex notices_mu_;
  std::vector<std::string> notices_;
};

}  // namespace tandem::engine
