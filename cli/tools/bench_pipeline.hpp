// `tandem bench --pipeline`: how well the batch engine overlaps its stages.
//
// The engine runs reader -> decoders -> {CPU teams, GPU workers} ->
// encoders/writers concurrently, so at best a batch goes as fast as its
// slowest stage would go alone. This bench times each stage alone over the
// same inputs, with the workers the engine gives that stage, then the whole
// batch, and reports
//
//   overlap efficiency = batch items/s / slowest standalone stage's items/s
//
// and, because stages that share cores cannot all run at their standalone
// speed at once, a second figure against the resource bound: a batch needs
// at least max(slowest stage's time, all stages' CPU time / cores).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tandem/engine.hpp"
#include "tandem/status.hpp"

namespace tandem::bench {

struct PipelineBenchOptions {
  std::vector<std::string> inputs;  ///< files and directories, as for run_batch
  std::vector<std::string> globs;   ///< as RunOptions::globs
  DeviceChoice device = DeviceChoice::auto_select;
  int threads = 0;                  ///< CPU compute threads in all, as RunOptions::threads
  int repeats = 3;                  ///< timed passes of every stage and of the batch (median)
  bool use_io_uring = true;
  /// Where the temporary output directories go; empty = the system's temp directory.
  std::string temp_root;
};

/// The timed passes of one thing (a stage alone, or the whole batch) and the
/// figures of its median pass.
struct Timing {
  std::vector<double> runs; ///< wall seconds of each timed pass
  double seconds = 0;       ///< median of runs
  double items_per_s = 0;
  double mb_per_s = 0;      ///< bytes in / seconds / 1e6
  double cpu_seconds = 0;   ///< process CPU time (user + system) of the median pass
  double busy_seconds = 0;  ///< summed per-item time over the workers (median pass), as the engine counts it
};

/// One stage, timed alone.
struct StageBench : Timing {
  std::string name;         ///< "read (io_uring)", "decode", "compute", "encode+write"
  std::string workers;      ///< how it ran, e.g. "2 threads", "8 reads in flight", "cpu:0 x2 threads"
  int threads = 0;          ///< the engine's worker count for the stage (as RunSummary::stages)
  double bytes_in = 0;      ///< bytes the stage consumes per pass (mb_per_s counts these)
  double batch_busy_seconds = 0;  ///< the same stage's busy time inside the median batch run
};

struct PipelineBenchResult {
  std::string pipeline;
  std::string device;          ///< "cpu", "gpu" or "auto"
  std::size_t items = 0;
  std::uint64_t file_bytes = 0, decoded_bytes = 0, result_bytes = 0, output_bytes = 0;
  int repeats = 0;
  int cores = 0;               ///< CPUs this process may run on
  std::vector<StageBench> stages;
  std::size_t slowest = 0;     ///< index into stages

  /// run_batch timed: MB/s of the file bytes in; busy: the RunSummary stages' busy time, summed.
  Timing batch;
  double batch_core_use = 0;          ///< batch.cpu_seconds / (batch.seconds * cores): 1 = every core busy
  double batch_cpu_overhead = 0;      ///< batch.cpu_seconds / cpu_work_seconds - 1: extra CPU the batch spent
  std::map<std::string, std::size_t> items_per_device;

  double efficiency = 0;              ///< batch items/s / slowest stage's items/s
  double cpu_work_seconds = 0;        ///< sum of the stages' cpu_seconds
  double bound_seconds = 0;           ///< max(slowest stage's seconds, cpu_work_seconds / cores)
  double bound_items_per_s = 0;
  double efficiency_vs_bound = 0;     ///< bound_seconds / batch.seconds

  std::vector<std::string> notes;
};

/// Runs the bench. Inputs that fail in the untimed first batch run are an error
/// (the stages must all see the same items); so is an empty input list.
Status run_pipeline_bench(const Pipeline& pipeline, const PipelineBenchOptions& options,
                          PipelineBenchResult& out);

/// JSON text of a result (an object; see docs/performance.md).
std::string to_json(const PipelineBenchResult& result);

/// The bundled sample photos: $TANDEM_DATA_DIR/images, else a data/images
/// directory beside the executable or up to three levels above it (a build
/// directory inside the source tree). Empty when none is found.
std::string default_images_dir();

}  // namespace tandem::bench
