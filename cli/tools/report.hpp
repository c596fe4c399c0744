// The model behind `tandem info`: everything the report says, gathered once.
// Each output format (text, JSON) is one emitter reading this struct
// (cli/info.cpp), like lstopo's one-file-per-format emitters.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tandem/placement.hpp"
#include "tandem/status.hpp"
#include "tandem/topology.hpp"

namespace tandem {

/// The OpenMP runtime of this process.
struct OpenMPInfo {
  int max_threads = 0;     ///< omp_get_max_threads()
  int num_procs = 0;       ///< omp_get_num_procs()
  std::string proc_bind;   ///< omp_get_proc_bind(): "false", "true", "primary", "close", "spread"
  std::vector<std::vector<int>> places;  ///< omp_get_place_proc_ids() for each place
  std::string env_num_threads;  ///< OMP_NUM_THREADS as set ("" when unset)
  std::string env_proc_bind;    ///< OMP_PROC_BIND
  std::string env_places;       ///< OMP_PLACES
};

/// The SIMD layer of this build on this CPU (host/core/simd.hpp).
struct SimdInfo {
  std::string target;                  ///< the target the CPU kernels use ("AVX3", "AVX2", "NEON", ...)
  std::vector<std::string> supported;  ///< targets built and run by this CPU, best first
  std::string cap;                     ///< TANDEM_SIMD as applied ("best" when unset)
};

/// What to report on.
struct ReportRequest {
  std::optional<std::string> synthetic;  ///< an hwloc synthetic description
  std::optional<std::string> xml_path;   ///< an hwloc XML file (neither: this machine)
  PlacementOptions placement;
};

/// The whole report.
struct MachineReport {
  std::string tandem_version;
  bool cuda_compiled = false;
  Topology topology;
  std::vector<GpuInfo> gpus;
  std::string gpu_status;             ///< a sentence; the reason when `gpus` is empty
  std::optional<OpenMPInfo> openmp;   ///< only for this machine
  std::optional<SimdInfo> simd;       ///< only for this machine
  PlacementPlan plan;
};

/// OpenMP facts of this process.
OpenMPInfo query_openmp();

/// The SIMD target in use, the supported ones and the cap.
SimdInfo query_simd();

/// Loads the topology, finds the GPUs, queries OpenMP (this machine only) and
/// makes the placement plan. Errors name the file or description at fault.
Status build_report(const ReportRequest& request, MachineReport& out);

}  // namespace tandem
