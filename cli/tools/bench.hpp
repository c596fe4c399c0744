// The library part of `tandem bench`: times ops through the op table on each
// device, and measures the machine's "roof" (host memory bandwidth per NUMA
// node; per GPU device copy, pinned host<->device copy and SGEMM rates) so a
// kernel's effective bandwidth can be read as a fraction of what the memory
// system can do.
//
// Conventions (the same for the roof and the kernel table, so the ratio means
// something): bandwidth counts the minimum bytes an op must move, i.e. every
// input byte read once plus every output byte written once, divided by the
// median time. STREAM copy counts 2 x array bytes, triad 3 x.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tandem/device.hpp"
#include "tandem/dtype.hpp"
#include "tandem/status.hpp"

namespace tandem::bench {

// ---------------------------------------------------------------------------
// Roof
// ---------------------------------------------------------------------------

/// A set of threads measured together: one per NUMA node (bound to the node's
/// cores, memory on the node) plus the whole machine. `slots[i]` lists the OS
/// PU indices thread i binds to; empty = threads stay unbound.
struct HostTeam {
  int numa_node = -1;  ///< -1: the whole machine (memory not bound)
  int threads = 0;
  std::vector<std::vector<int>> slots;
};

/// The teams the roof measures: the placement plan's CPU teams (one per NUMA
/// node, one thread per core, bound), plus the whole machine (all teams'
/// slots, numa_node -1) when there are several nodes. Without a topology:
/// one unbound team of omp_get_max_threads() threads.
std::vector<HostTeam> host_teams();

struct HostRoof {
  int numa_node = -1;  ///< -1: whole machine
  int threads = 0;
  bool bound = false;
  std::size_t array_bytes = 0;  ///< bytes per STREAM array
  double copy_gbps = 0;         ///< c[i] = a[i], best of repeats, 2 x bytes counted
  double triad_gbps = 0;        ///< a[i] = b[i] + s*c[i], 3 x bytes counted
};

struct GpuRoof {
  int device = 0;
  std::string name;
  double d2d_gbps = 0;      ///< cudaMemcpyAsync device->device, 2 x bytes counted
  double h2d_gbps = 0;      ///< pinned host -> device
  double d2h_gbps = 0;      ///< device -> pinned host
  double sgemm_gflops = 0;  ///< cuBLAS SGEMM n x n x n, 2n^3 flops (0: not measured)
  std::string note;         ///< why a figure is missing
};

struct Roof {
  std::vector<HostRoof> host;
  std::vector<GpuRoof> gpu;
  std::string gpu_note;  ///< why there are no GPU rows (no CUDA build, no device)
  /// Copy bandwidth of the whole machine (the team CPU ops run on), 0 if unmeasured.
  [[nodiscard]] double host_copy_gbps() const;
  /// Device copy bandwidth of GPU `device`, 0 if unmeasured.
  [[nodiscard]] double gpu_copy_gbps(int device) const;
};

struct RoofOptions {
  /// Bytes per STREAM array (3 arrays); 0: 4x the last-level cache, in [64 MiB, 1 GiB].
  std::size_t host_array_bytes = 0;
  int repeats = 5;
  bool triad = true;
  bool gpus = true;
  std::size_t gpu_bytes = std::size_t(512) << 20;  ///< per buffer for the GPU copies
  bool gpu_host_copies = true;
  int sgemm_n = 4096;  ///< 0: skip SGEMM
};

/// Measures the roof. GPUs that cannot be used give a note, not an error.
Status measure_roof(const RoofOptions& options, Roof& out);

// ---------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------

/// One row of the kernel table.
struct Case {
  std::string op;
  /// "k=v k=v" on top of the bench's defaults for the op (bench_params()).
  std::string params;
  Device device = Device::cpu();
  /// Image ops: {H, W} or {H, W, C}. Array ops: the array shape. matmul: A's
  /// shape {M, K}; B is K x K, made by the bench and kept resident.
  std::vector<std::int64_t> shape;
  DType dtype = DType::u8;
};

struct Options {
  int warmup = 2;
  int repeats = 10;
  int threads = 0;  ///< CPU threads per op (0: OpenMP default)
};

struct Result {
  std::string op, params, device, shape, dtype;
  std::string simd;  ///< the SIMD target the CPU kernels ran on ("AVX3", "AVX2", ...); empty on a GPU
  bool skipped = false;
  std::string note;  ///< why skipped, or a remark on how it was timed
  int repeats = 0;
  double median_s = 0, min_s = 0, max_s = 0;
  double items = 0;        ///< pixels, elements or flops per call
  std::string rate_unit;   ///< "Mpix/s", "Melem/s" or "GFLOP/s"
  double rate = 0;         ///< items per second in rate_unit
  double bytes = 0;        ///< input + output bytes per call
  double gbps = 0;         ///< bytes / median
  double roof_gbps = 0;    ///< the copy bandwidth of the device it ran on (0: unknown)
  double pct_roof = -1;    ///< 100 * gbps / roof_gbps (-1: unknown)
};

/// The parameters the bench gives `op` by default ("sigma=2" for gaussian,
/// "size=5" for box and median, half-size output for resize, ...), so every
/// op in the table can run with no --params. `shape` is the input shape.
std::string bench_params(const std::string& op, const std::vector<std::int64_t>& shape);

/// Parses "k=v k=v ..." (whitespace separated). Errors name the bad token.
Status parse_kv(const std::string& text, std::vector<std::pair<std::string, std::string>>& out);

/// Times one case. Problems with the case (op missing, dtype refused, no GPU)
/// come back as a skipped Result with a note, never as an error.
Result run_case(const Case& c, const Options& options, const Roof& roof);

/// What the default matrix covers.
struct MatrixOptions {
  std::vector<Device> devices{Device::cpu()};
  std::int64_t width = 4096, height = 4096;
  std::vector<int> channels{1, 3};   ///< image ops: gray and RGB
  DType image_dtype = DType::u8;
  std::int64_t elements = 10'000'000;  ///< array ops, 1-d
  DType array_dtype = DType::f32;
  std::int64_t matmul_n = 1024;
  std::string only_op;  ///< non-empty: just this op
};

/// Every op in the table x device x (channel count for image ops). Ops that
/// refuse a channel count or dtype are adapted (first accepted dtype) or
/// dropped (channel counts they don't take).
std::vector<Case> default_cases(const MatrixOptions& options);

/// "4096x4096x3" style text of a shape.
std::string shape_text(const std::vector<std::int64_t>& shape);

/// JSON text of results and roof (an object: {"roof": {...}, "results": [...]}).
std::string to_json(const Roof& roof, const std::vector<Result>& results);
/// The roof alone as a JSON object: {"host": [...], "gpu": [...], "gpu_note": ...};
/// the one emitter of it, for `tandem bench --json` and `tandem info --measure --json`.
nlohmann::json roof_to_json(const Roof& roof);

}  // namespace tandem::bench
