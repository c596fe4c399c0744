/// @file engine.hpp
/// @brief tandem's batch engine: files (or in-memory tensors) in, results out,
///        through an async I/O stage, hwloc-placed CPU teams and GPU workers.
///
/// Stages: lister -> reader (io_uring, else pread) -> decoders -> shared work
/// queue -> {CPU teams, GPU workers} -> encoders/writers. Stages are joined by
/// bounded queues and every item's bytes are charged to one budget
/// (RunOptions::io_memory), so memory stays bounded whatever the batch size.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tandem/pipeline.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Which devices share a batch.
enum class DeviceChoice : unsigned char { cpu, gpu, auto_select };

/// @brief Progress counters, as seen by a progress callback.
struct Progress {
  std::size_t total = 0;      ///< items to process (known after listing)
  std::size_t done = 0;       ///< finished, ok or failed
  std::size_t failed = 0;
  std::uint64_t bytes_in = 0; ///< input bytes read so far
  double elapsed = 0;         ///< seconds since the run began
  std::map<std::string, std::size_t> per_device;  ///< items finished per device ("cpu:0", "cuda:0")
  bool last = false;          ///< the run's last call, with the final counts
};

/// @brief The outcome of one input.
struct ItemResult {
  std::size_t index = 0;  ///< position in the run's input listing (the same in every shard or rank)
  std::string input;
  std::string output;   ///< empty when nothing was written
  Status status;
  std::string device;   ///< "cpu:N" (team N) or "cuda:N"; empty if it never reached compute
  double seconds = 0;   ///< compute seconds
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  bool skipped = false;  ///< --resume found its output complete
  bool retried_on_cpu = false;  ///< a GPU failure was retried on a CPU team
  /// GPU: how many items shared its round trip (upload, kernels, download);
  /// small images travel together. 0 when it did not run on a GPU.
  std::size_t gpu_batch = 0;
  /// Reduction results (stats): name -> value.
  std::vector<std::pair<std::string, double>> values;
  /// Metadata of the input left out of its output, each with why (an ICC profile
  /// over 4 MiB, EXIF over one JPEG segment, a profile for other channels, ...).
  std::vector<std::string> notes;
};

/// @brief Busy time of one stage (summed over its threads).
struct StageReport {
  std::string name;
  int threads = 0;
  double busy_seconds = 0;
};

/// @brief What a run did.
struct RunSummary {
  std::size_t ok = 0, failed = 0, skipped = 0, not_started = 0;
  double wall_seconds = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::size_t io_memory_limit = 0, io_memory_peak = 0;
  bool cancelled = false;
  std::vector<StageReport> stages;
  std::map<std::string, std::size_t> items_per_device;
  std::vector<ItemResult> items;      ///< in input order
  std::vector<std::string> notices;   ///< one-line notes (e.g. "no usable GPU: running on the CPU")
};

/// @brief Decides which inputs of the listing this process runs, for runs
///        shared by several processes (tandem's MPI layer implements it).
///        Called from the thread that runs the batch.
class WorkShare {
 public:
  virtual ~WorkShare() = default;
  /// Makes the run's listing once for all processes. `list_here` lists the
  /// inputs on this process (it walks the filesystem) into `bytes`, an opaque
  /// string. A share of several processes calls it on one of them and hands
  /// the bytes, or its error, to the others, so that every process runs the
  /// same list and only one walks the filesystem. By default: lists here.
  virtual Status listing(const std::function<Status(std::string&)>& list_here, std::string& bytes) {
    return list_here(bytes);
  }
  /// The listing is made: every listed item's input and its size in bytes (0
  /// when it cannot be read; a TIFF page: its part of the file), in listing
  /// order. An error fails the run.
  virtual Status begin(const std::vector<std::string>& inputs, const std::vector<std::uint64_t>& bytes) = 0;
  /// The next listing positions this process runs; empty when it has none
  /// left. Each position goes to exactly one process.
  virtual std::vector<std::size_t> next() = 0;
};

/// @brief Options of a batch run.
struct RunOptions {
  std::vector<std::string> inputs;   ///< files and directories (recursed)
  std::string output_dir;
  std::vector<std::string> globs;    ///< keep files whose name matches one (fnmatch); empty = all
  std::string format;                ///< png|jpg|pgm|ppm|tiff|npy; empty = the input's own format
  int jpeg_quality = 90;
  int png_compression = 1;           ///< zlib level 0-9; 1 = fast
  DeviceChoice device = DeviceChoice::auto_select;
  int threads = 0;                   ///< CPU compute threads in all (0 = every core the plan gives teams)
  std::vector<int> gpus;             ///< CUDA ordinals to use; empty = all
  std::size_t io_memory = 0;         ///< byte budget for items in flight; 0 = 1/8 of RAM, at most 4 GiB
  bool resume = false;               ///< skip inputs whose output is already complete
  /// Make each output durable before it takes its final name: fsync the file,
  /// rename, fsync its directory. Without it an output is complete or absent
  /// after the process is killed, but a power loss may lose recent outputs
  /// (or, on some file systems, leave them empty).
  bool fsync = false;
  /// JPEG: keep the pixels as stored instead of applying the EXIF orientation.
  bool raw_orientation = false;
  /// Write outputs without the input's ICC profile and EXIF; by default they
  /// are kept where the output format holds them (io::Metadata).
  bool strip_metadata = false;
  std::uint64_t max_pixels = 1ull << 30;  ///< refuse larger images (0 = no limit; 2^30 as OpenCV)
  std::string trace_path;            ///< Chrome/Perfetto trace-event JSON, if set
  bool use_io_uring = true;          ///< false forces the pread thread pool
  std::string model_cache;           ///< throughput model cache file; empty = ~/.cache/tandem/throughput.json, "-" = none
  /// Run only the shard_index-th (0-based) of shard_count byte-balanced shares of
  /// the listing (a job array's task); the union of the shares is the whole listing.
  int shard_index = 0;
  int shard_count = 1;
  WorkShare* share = nullptr;        ///< dynamic share with other processes (overrides the shard)
  const std::atomic<bool>* cancel = nullptr;  ///< set to stop taking new items
  std::function<void(const ItemResult&)> on_item;      ///< after each item (any thread, serialized)
  std::function<void(const Progress&)> on_progress;    ///< about every 200 ms from a monitor thread
};

/// @brief Runs `pipeline` over files. Per-item failures are reported in the
///        summary (the batch goes on); the returned Status is an error only for
///        problems with the run itself (bad output directory, no inputs, ...).
Status run_batch(const Pipeline& pipeline, const RunOptions& options, RunSummary& summary);

/// @brief Runs `pipeline` over in-memory host tensors on the same CPU teams and
///        GPU workers; `on_result(index, status, result)` is called once per input
///        (from worker threads, serialized) with a host tensor.
Status run_tensors(const Pipeline& pipeline, const std::vector<View>& inputs, const RunOptions& options,
                   const std::function<void(std::size_t, const Status&, Tensor&)>& on_result,
                   RunSummary& summary);

}  // namespace tandem

#pragma GCC visibility pop
