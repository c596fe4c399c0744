#include "cli/tools/report.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdlib>

#include "host/core/simd.hpp"
#include "tandem/config.hpp"
#include "tandem/device.hpp"

namespace tandem {

namespace {

const char* proc_bind_name(omp_proc_bind_t b) {
  switch (b) {
    case omp_proc_bind_false: return "false";
    case omp_proc_bind_true: return "true";
    case omp_proc_bind_primary: return "primary";
    case omp_proc_bind_close: return "close";
    case omp_proc_bind_spread: return "spread";
  }
  return "unknown";
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

OpenMPInfo query_openmp() {
  OpenMPInfo info;
  info.max_threads = omp_get_max_threads();
  info.num_procs = omp_get_num_procs();
  info.proc_bind = proc_bind_name(omp_get_proc_bind());
  const int places = omp_get_num_places();
  for (int p = 0; p < places; ++p) {
    std::vector<int> ids(static_cast<std::size_t>(std::max(0, omp_get_place_num_procs(p))));
    if (!ids.empty()) omp_get_place_proc_ids(p, ids.data());
    info.places.push_back(std::move(ids));
  }
  info.env_num_threads = env_or_empty("OMP_NUM_THREADS");
  info.env_proc_bind = env_or_empty("OMP_PROC_BIND");
  info.env_places = env_or_empty("OMP_PLACES");
  return info;
}

SimdInfo query_simd() { return {simd_target_name(), simd_supported_targets(), simd_cap()}; }

Status build_report(const ReportRequest& request, MachineReport& out) {
  MachineReport r;
  r.tandem_version = TANDEM_VERSION_STRING;
  r.cuda_compiled = cuda_compiled();
  if (request.synthetic && request.xml_path)
    return {Errc::invalid_argument, "give either a synthetic description or a topology file, not both"};
  if (request.xml_path) {
    TANDEM_TRY(Topology::load_xml(*request.xml_path, r.topology));
  } else if (request.synthetic) {
    TANDEM_TRY(Topology::load_synthetic(*request.synthetic, r.topology));
  } else {
    TANDEM_TRY(Topology::load_this_machine(r.topology));
    r.openmp = query_openmp();
    r.simd = query_simd();
  }
  GpuScan scan = find_gpus(r.topology);
  r.gpus = std::move(scan.gpus);
  r.gpu_status = std::move(scan.status);
  r.plan = make_plan(r.topology, r.gpus, request.placement);
  out = std::move(r);
  return {};
}

}  // namespace tandem
