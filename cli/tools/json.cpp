// The JSON emitters of `tandem info` and `tandem run` (see json.hpp).
#include "cli/tools/json.hpp"

#include <string>

namespace tandem::tools {

namespace {

// Keys in the order docs/info.md lists them, not alphabetical.
using json = nlohmann::ordered_json;

json id_or_null(int v) { return v >= 0 ? json(v) : json(nullptr); }
json str_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
template <class T>
json positive_or_null(T v) {
  return v > 0 ? json(v) : json(nullptr);
}

}  // namespace

nlohmann::ordered_json report_json(const MachineReport& r, const bench::Roof* measured) {
  const Topology& t = r.topology;
  const HostInfo& h = t.host();
  json j;
  j["tandem"] = {{"version", r.tandem_version}, {"cuda_compiled", r.cuda_compiled}};
  j["source"] = {{"kind", t.source() == TopologySource::this_machine ? "this_machine"
                          : t.source() == TopologySource::xml        ? "xml"
                                                                     : "synthetic"},
                 {"origin", t.origin()}};
  j["host"] = {{"hostname", str_or_null(h.hostname)},
               {"os", {{"name", str_or_null(h.os_name)},
                       {"release", str_or_null(h.os_release)},
                       {"version", str_or_null(h.os_version)}}},
               {"architecture", str_or_null(h.architecture)},
               {"cpu_model", str_or_null(h.cpu_model)}};

  json cpu;
  cpu["model"] = str_or_null(h.cpu_model);
  cpu["cores"] = t.cores().size();
  cpu["pus"] = t.pu_count();
  cpu["allowed_pus"] = t.allowed_pus();
  cpu["restricted"] = t.restricted();
  cpu["packages"] = json::array();
  for (const PackageInfo& p : t.packages())
    cpu["packages"].push_back({{"index", p.index},
                               {"os_index", id_or_null(p.os_index)},
                               {"model", str_or_null(p.cpu_model)},
                               {"cores", p.cores},
                               {"pus", p.pus},
                               {"numa_nodes", p.numa_nodes}});
  cpu["numa_nodes"] = json::array();
  for (const NumaNodeInfo& n : t.numa_nodes())
    cpu["numa_nodes"].push_back({{"os_index", n.os_index},
                                 {"package", id_or_null(n.package)},
                                 {"local_memory_bytes", n.local_memory_bytes},
                                 {"cores", n.cores},
                                 {"pus", n.pus}});
  cpu["core_list"] = json::array();
  for (const CoreInfo& c : t.cores())
    cpu["core_list"].push_back({{"index", c.index},
                                {"os_index", id_or_null(c.os_index)},
                                {"package", id_or_null(c.package)},
                                {"numa_node", id_or_null(c.numa_node)},
                                {"pus", c.pus}});
  cpu["caches"] = json::array();
  for (const CacheInfo& c : t.caches())
    cpu["caches"].push_back({{"level", c.level},
                             {"type", c.type},
                             {"size_bytes", c.size_bytes},
                             {"line_size", positive_or_null(c.line_size)},
                             {"count", c.count},
                             {"cores_sharing", c.cores_sharing}});
  j["cpu"] = std::move(cpu);

  j["gpus"] = json::array();
  for (const GpuInfo& g : r.gpus) {
    const double bw = g.memory_bandwidth_bytes_per_s();
    j["gpus"].push_back({{"index", g.index},
                         {"name", g.name},
                         {"compute_capability", g.cc_major > 0 ? json(compute_capability_text(g)) : json(nullptr)},
                         {"sm_count", positive_or_null(g.sm_count)},
                         {"memory_total_bytes", positive_or_null(g.memory_total_bytes)},
                         {"memory_free_bytes", positive_or_null(g.memory_free_bytes)},
                         {"memory_bus_width_bits", positive_or_null(g.memory_bus_width_bits)},
                         {"memory_clock_khz", positive_or_null(g.memory_clock_khz)},
                         {"memory_bandwidth_bytes_per_s", bw > 0 ? json(bw) : json(nullptr)},
                         {"pci_bus_id", str_or_null(g.pci_bus_id)},
                         {"numa_node", id_or_null(g.numa_node)},
                         {"local_pus", g.local_pus},
                         {"source", g.source}});
  }
  j["gpu_status"] = r.gpu_status;

  if (r.openmp) {
    const OpenMPInfo& o = *r.openmp;
    j["openmp"] = {{"max_threads", o.max_threads},
                   {"num_procs", o.num_procs},
                   {"proc_bind", o.proc_bind},
                   {"places", o.places},
                   {"env", {{"OMP_NUM_THREADS", str_or_null(o.env_num_threads)},
                            {"OMP_PROC_BIND", str_or_null(o.env_proc_bind)},
                            {"OMP_PLACES", str_or_null(o.env_places)}}}};
  } else {
    j["openmp"] = nullptr;
  }
  if (r.simd)
    j["simd"] = {{"target", r.simd->target}, {"supported", r.simd->supported}, {"cap", r.simd->cap}};
  else
    j["simd"] = nullptr;

  const PlacementPlan& p = r.plan;
  json plan;
  plan["options"] = {{"smt", p.options.smt},
                     {"dedicated_gpu_cores", p.options.dedicated_gpu_cores},
                     {"io", io_placement_name(p.options.io)},
                     {"dedicated_io_cores", p.options.dedicated_io_cores}};
  plan["cpu_threads"] = p.cpu_threads();
  plan["cpu_teams"] = json::array();
  for (const CpuTeam& c : p.cpu_teams)
    plan["cpu_teams"].push_back({{"numa_node", id_or_null(c.numa_node)},
                                 {"package", id_or_null(c.package)},
                                 {"threads", c.threads},
                                 {"cores", c.cores},
                                 {"pus", c.pus},
                                 {"slots", c.slots}});
  plan["gpu_workers"] = json::array();
  for (const GpuWorker& w : p.gpu_workers)
    plan["gpu_workers"].push_back({{"gpu", w.gpu},
                                   {"numa_node", id_or_null(w.numa_node)},
                                   {"core", w.core},
                                   {"pus", w.pus},
                                   {"dedicated", w.dedicated}});
  plan["io_workers"] = json::array();
  for (const IoWorker& w : p.io_workers)
    plan["io_workers"].push_back({{"package", id_or_null(w.package)},
                                  {"numa_node", id_or_null(w.numa_node)},
                                  {"core", w.core},
                                  {"pus", w.pus},
                                  {"dedicated", w.dedicated}});
  plan["notes"] = p.notes;
  j["placement"] = std::move(plan);

  if (measured) j["measured"] = bench::roof_to_json(*measured);
  return j;
}

double busy_percent(const RunSummary& sum, const StageReport& st) {
  return sum.wall_seconds > 0 ? 100.0 * st.busy_seconds / (sum.wall_seconds * st.threads) : 0.0;
}

nlohmann::json run_json(const Pipeline& pipeline, const RunSummary& sum, std::pair<int, int> shard) {
  using json = nlohmann::json;
  auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json j{{"ok", sum.ok},
         {"failed", sum.failed},
         {"skipped", sum.skipped},
         {"not_started", sum.not_started},
         {"cancelled", sum.cancelled},
         {"wall_seconds", sum.wall_seconds},
         {"bytes_in", sum.bytes_in},
         {"bytes_out", sum.bytes_out},
         {"io_memory", {{"limit_bytes", sum.io_memory_limit}, {"peak_bytes", sum.io_memory_peak}}},
         {"pipeline", pipeline.text()},
         {"shard", {{"index", shard.first}, {"count", shard.second}}},
         {"stages", json::array()}};
  for (const auto& st : sum.stages)
    j["stages"].push_back({{"name", st.name}, {"threads", st.threads}, {"busy_seconds", st.busy_seconds},
                           {"busy_percent", busy_percent(sum, st)}});
  j["items_per_device"] = sum.items_per_device;
  j["notices"] = sum.notices;
  j["items"] = json::array();
  for (const auto& r : sum.items) {
    json it{{"index", r.index},
            {"path", r.input},
            {"status", r.skipped ? "skipped" : r.status.ok() ? "ok" : r.status.code() == Errc::cancelled ? "cancelled" : "failed"},
            {"error", r.status.ok() ? json(nullptr) : json(r.status.message())},
            {"device", or_null(r.device)},
            {"seconds", r.seconds},
            {"output", or_null(r.output)}};
    if (r.retried_on_cpu) it["retried_on_cpu"] = true;
    if (r.gpu_batch > 1) it["gpu_batch"] = r.gpu_batch;
    if (!r.notes.empty()) it["notes"] = r.notes;
    if (!r.values.empty()) {
      json v = json::object();
      for (const auto& [k, x] : r.values) v[k] = x;
      it["values"] = v;
    }
    j["items"].push_back(std::move(it));
  }
  return j;
}

}  // namespace tandem::tools
