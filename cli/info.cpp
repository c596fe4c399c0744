// tandem info: the hardware report and the placement plan.
//
// One model (tandem::MachineReport, host/report.hpp) and one emitter per
// format, both reading it: emit_text() for people, emit_json() for programs.
// The JSON schema is documented in docs/info.md.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/tools/bench.hpp"
#include "cli/tools/format.hpp"
#include "cli/tools/report.hpp"
#include "tandem/config.hpp"

namespace tandem::cli {

namespace {

// ---------------------------------------------------------------------------
// Shared formatting
// ---------------------------------------------------------------------------
using tools::human_bytes;

std::string plural(long n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string ids(const std::vector<int>& v) { return v.empty() ? "-" : format_id_list(v); }

/// Writes `text` word-wrapped to 80 columns; continuation lines indented by `indent`.
void wrap(std::ostream& os, const std::string& first, const std::string& text, std::size_t indent) {
  std::istringstream words(text);
  std::string line = first, word;
  bool empty = true;
  while (words >> word) {
    if (!empty && line.size() + 1 + word.size() > 80) {
      os << line << "\n";
      line = std::string(indent, ' ') + word;
    } else {
      line += (empty ? "" : " ") + word;
    }
    empty = false;
  }
  os << line << "\n";
}

/// A left-aligned text table with two-space gaps; `right` marks right-aligned columns.
class Table {
 public:
  Table(std::vector<std::string> header, std::vector<bool> right) : right_(std::move(right)) {
    rows_.push_back(std::move(header));
  }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& os, const std::string& indent) const {
    std::vector<std::size_t> width(rows_.front().size(), 0);
    for (const auto& r : rows_)
      for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    for (const auto& r : rows_) {
      std::string line = indent;
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::string pad(width[i] - r[i].size(), ' ');
        const bool last = i + 1 == r.size();
        line += right_[i] ? pad + r[i] : r[i] + (last ? "" : pad);
        if (!last) line += "  ";
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      os << line << "\n";
    }
  }

 private:
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

std::string cc_string(const GpuInfo& g) {
  return g.cc_major > 0 ? std::to_string(g.cc_major) + "." + std::to_string(g.cc_minor) : "-";
}

std::string bandwidth_string(const GpuInfo& g) {
  const double b = g.memory_bandwidth_bytes_per_s();
  if (b <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f GB/s", b / 1e9);
  return buf;
}

std::string cache_name(const CacheInfo& c) {
  return "L" + std::to_string(c.level) + (c.type == "data" ? "d" : c.type == "instruction" ? "i" : "");
}

// ---------------------------------------------------------------------------
// Text emitter
// ---------------------------------------------------------------------------
void emit_text(std::ostream& os, const MachineReport& r) {
  const Topology& t = r.topology;
  const HostInfo& h = t.host();
  const bool here = t.source() == TopologySource::this_machine;

  os << "tandem " << r.tandem_version << (r.cuda_compiled ? " (CUDA build)" : " (CPU-only build)") << "\n\n";
  wrap(os, "Source    ",
       here ? std::string("this machine")
            : std::string(t.source() == TopologySource::xml ? "topology file " : "synthetic topology ") + t.origin(),
       10);
  std::string host = h.hostname.empty() ? std::string("-") : h.hostname;
  if (!h.os_name.empty()) host += ": " + h.os_name + " " + h.os_release;
  if (!h.architecture.empty()) host += " " + h.architecture;
  wrap(os, "Host      ", host, 10);
  wrap(os, "CPU       ", h.cpu_model.empty() ? std::string("-") : h.cpu_model, 10);
  const long ncores = static_cast<long>(t.cores().size());
  std::string counts = plural(static_cast<long>(t.packages().size()), "package,", "packages,") + " " +
                       plural(static_cast<long>(t.numa_nodes().size()), "NUMA node,", "NUMA nodes,") + " " +
                       plural(ncores, "core,", "cores,") + " " + plural(t.pu_count(), "PU", "PUs");
  if (ncores > 0 && t.pu_count() != ncores) counts += " (SMT " + std::to_string(t.pu_count() / ncores) + ")";
  wrap(os, "          ", counts, 10);

  // The tree: Machine > Package > NUMA node (+ its GPUs); CPU-less nodes and
  // GPUs of unknown locality hang off the machine.
  os << "\nMachine (" << human_bytes([&] {
    std::uint64_t s = 0;
    for (const auto& n : t.numa_nodes()) s += n.local_memory_bytes;
    return s;
  }()) << ")\n";
  auto gpu_line = [&](const GpuInfo& g, const std::string& indent) {
    std::string s = indent + "GPU " + std::to_string(g.index) + "  " + g.name;
    if (!g.pci_bus_id.empty()) s += "  (PCI " + g.pci_bus_id + ")";
    os << s << "\n";
  };
  auto node_lines = [&](const NumaNodeInfo& n, const std::string& indent) {
    os << indent << "NUMA node " << n.os_index << "  " << human_bytes(n.local_memory_bytes);
    if (!n.cores.empty()) os << "  cores " << ids(n.cores) << "  PUs " << ids(n.pus);
    else os << "  (no CPUs)";
    os << "\n";
    for (const GpuInfo& g : r.gpus)
      if (g.numa_node == n.os_index) gpu_line(g, indent + "  ");
  };
  for (const PackageInfo& p : t.packages()) {
    os << "  Package " << p.index << "  " << plural(static_cast<long>(p.cores.size()), "core", "cores") << ", "
       << plural(p.pus, "PU", "PUs") << "\n";
    for (const NumaNodeInfo& n : t.numa_nodes())
      if (n.package == p.index) node_lines(n, "    ");
  }
  for (const NumaNodeInfo& n : t.numa_nodes())
    if (n.package < 0) node_lines(n, "  ");
  for (const GpuInfo& g : r.gpus)
    if (g.numa_node < 0 || !t.numa_node(g.numa_node)) gpu_line(g, "  ");

  if (!t.caches().empty()) {
    os << "\nCaches\n";
    Table tab({"cache", "size", "line", "count", "shared by"}, {false, true, true, true, false});
    for (const CacheInfo& c : t.caches())
      tab.add({cache_name(c), human_bytes(c.size_bytes), c.line_size ? std::to_string(c.line_size) + " B" : "-",
               std::to_string(c.count), plural(c.cores_sharing, "core", "cores")});
    tab.print(os, "  ");
  }

  os << "\n";
  if (r.gpus.empty()) {
    wrap(os, "GPUs      ", r.gpu_status, 10);
  } else {
    wrap(os, "GPUs      ", r.gpu_status, 10);
    Table tab({"#", "name", "cc", "SMs", "memory", "free", "bandwidth", "NUMA"},
              {true, false, false, true, true, true, true, true});
    for (const GpuInfo& g : r.gpus) {
      std::string name = g.name.size() > 26 ? g.name.substr(0, 25) + "~" : g.name;
      tab.add({std::to_string(g.index), name, cc_string(g), g.sm_count ? std::to_string(g.sm_count) : "-",
               g.memory_total_bytes ? human_bytes(g.memory_total_bytes) : "-",
               g.memory_free_bytes ? human_bytes(g.memory_free_bytes) : "-", bandwidth_string(g),
               g.numa_node >= 0 ? std::to_string(g.numa_node) : "?"});
    }
    tab.print(os, "  ");
  }

  if (r.openmp) {
    const OpenMPInfo& o = *r.openmp;
    std::string s = plural(o.max_threads, "thread", "threads") + " max, " + plural(o.num_procs, "proc", "procs") +
                    ", proc_bind " + o.proc_bind + ", ";
    if (o.places.empty()) {
      s += "no places";
    } else {
      s += plural(static_cast<long>(o.places.size()), "place", "places") + ":";
      for (std::size_t i = 0; i < o.places.size() && i < 8; ++i) s += " {" + format_id_list(o.places[i]) + "}";
      if (o.places.size() > 8) s += " ...";
    }
    s += " (OMP_NUM_THREADS=" + (o.env_num_threads.empty() ? std::string("unset") : o.env_num_threads) +
         ", OMP_PROC_BIND=" + (o.env_proc_bind.empty() ? std::string("unset") : o.env_proc_bind) +
         ", OMP_PLACES=" + (o.env_places.empty() ? std::string("unset") : o.env_places) + ")";
    os << "\n";
    wrap(os, "OpenMP    ", s, 10);
  }
  if (r.simd) {
    std::string s = r.simd->target + " (supported:";
    for (const std::string& t : r.simd->supported) s += " " + t;
    s += "; TANDEM_SIMD=" + r.simd->cap + ")";
    wrap(os, "SIMD      ", s, 10);
  }

  const PlacementPlan& p = r.plan;
  os << "\n";
  wrap(os, "Placement ",
       plural(p.cpu_threads(), "CPU thread", "CPU threads") + " in " +
           plural(static_cast<long>(p.cpu_teams.size()), "team,", "teams,") + " " +
           plural(static_cast<long>(p.gpu_workers.size()), "GPU worker,", "GPU workers,") + " " +
           plural(static_cast<long>(p.io_workers.size()), "I/O worker", "I/O workers"),
       10);
  {
    Table tab({"CPU team", "package", "threads", "cores", "PUs"}, {false, true, true, false, false});
    for (const CpuTeam& c : p.cpu_teams)
      tab.add({c.numa_node >= 0 ? "node " + std::to_string(c.numa_node) : "no node",
               c.package >= 0 ? std::to_string(c.package) : "-", std::to_string(c.threads), ids(c.cores), ids(c.pus)});
    tab.print(os, "  ");
  }
  if (!p.gpu_workers.empty()) {
    Table tab({"GPU worker", "node", "core", "PUs", "core use"}, {false, true, true, false, false});
    for (const GpuWorker& w : p.gpu_workers)
      tab.add({"gpu " + std::to_string(w.gpu), w.numa_node >= 0 ? std::to_string(w.numa_node) : "-",
               std::to_string(w.core), ids(w.pus), w.dedicated ? "dedicated" : "shared"});
    tab.print(os, "  ");
  }
  if (!p.io_workers.empty()) {
    Table tab({"I/O worker", "node", "core", "PUs", "core use"}, {false, true, true, false, false});
    for (const IoWorker& w : p.io_workers)
      tab.add({p.options.io == IoPlacement::per_package && w.package >= 0 ? "package " + std::to_string(w.package)
                                                                           : "node " + std::to_string(w.numa_node),
               w.numa_node >= 0 ? std::to_string(w.numa_node) : "-", std::to_string(w.core), ids(w.pus),
               w.dedicated ? "dedicated" : "shared with team"});
    tab.print(os, "  ");
  }
  for (const std::string& n : p.notes) wrap(os, "  note: ", n, 8);
}

// ---------------------------------------------------------------------------
// JSON emitter
// ---------------------------------------------------------------------------
// Keys in the order docs/info.md lists them, not alphabetical.
using json = nlohmann::ordered_json;

json id_or_null(int v) { return v >= 0 ? json(v) : json(nullptr); }
json str_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
template <class T>
json positive_or_null(T v) {
  return v > 0 ? json(v) : json(nullptr);
}

void emit_json(std::ostream& os, const MachineReport& r, const bench::Roof* measured) {
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
                         {"compute_capability", g.cc_major > 0 ? json(cc_string(g)) : json(nullptr)},
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
  os << j.dump(2) << "\n";
}

// ---------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------
struct InfoOptions {
  bool json = false;
  std::optional<std::string> synthetic;
  std::optional<std::string> topology;
  bool smt = false;
  std::string io = "package";
  bool dedicated_io = false;
  bool shared_gpu_cores = false;
  bool measure = false;
};

constexpr const char* kInfoFooter = R"(Placement rules (details in docs/info.md):
  - one CPU worker team per NUMA node, one thread per core (--smt: per PU);
  - one feeder thread per GPU on a core of the GPU's NUMA node, taken out of
    that node's team while the team keeps at least one core;
  - one I/O thread per package (--io), on its lowest core no GPU feeder uses.
Cores are hwloc logical indices; PUs are OS indices (as taskset uses them).

Examples:
  tandem info                          this machine, as text
  tandem info --json > machine.json    the same, as JSON (schema: docs/info.md)
  tandem info --synthetic "pack:2 numa:1 core:4 pu:2"
                                       plan for an imaginary 2-socket machine
  tandem info --topology data/topologies/2s-xeon-8gpu.xml
                                       report and plan for a saved machine
  tandem info --measure                add the measured ceilings (as tandem bench --roof:
                                       memory bandwidth per NUMA node; per GPU copies and SGEMM)
  lstopo-no-graphics --of xml > m.xml && tandem info --topology m.xml
                                       save this machine for later)";

int run_info(const InfoOptions& o) {
  ReportRequest req;
  req.synthetic = o.synthetic;
  req.xml_path = o.topology;
  req.placement.smt = o.smt;
  req.placement.io = parse_io_placement(o.io).value_or(IoPlacement::per_package);
  req.placement.dedicated_io_cores = o.dedicated_io;
  req.placement.dedicated_gpu_cores = !o.shared_gpu_cores;
  MachineReport report;
  const Status s = build_report(req, report);
  if (!s.ok()) {
    // A bad description or topology file is a bad argument: usage error, exit 2.
    const bool usage = s.code() == Errc::invalid_argument || s.code() == Errc::io_error ||
                       s.code() == Errc::format_error;
    std::cerr << "tandem info: " << s.message() << "\n";
    if (usage) {
      std::cerr << "Try 'tandem info --help' for usage.\n";
      return 2;
    }
    return 1;
  }
  // --measure: this machine's ceilings, as `tandem bench --roof` measures them.
  bench::Roof roof;
  if (o.measure) {
    if (const Status m = bench::measure_roof(bench::RoofOptions{}, roof); !m.ok()) {
      std::cerr << "tandem info: cannot measure the roof: " << m.message() << "\n";
      return 1;
    }
  }
  if (o.json) {
    emit_json(std::cout, report, o.measure ? &roof : nullptr);
  } else {
    emit_text(std::cout, report);
    if (o.measure) {
      std::cout << "\nmeasured ceilings\n";
      std::cout.flush();
      print_roof(roof);
    }
  }
  std::cout.flush();
  return std::cout ? 0 : 1;
}

}  // namespace

void add_info_command(CLI::App& app, Commands& commands) {
  auto opts = std::make_shared<InfoOptions>();
  auto* cmd = app.add_subcommand(
      "info", "Report this machine's CPUs, caches, GPUs and OpenMP, and the placement plan");
  cmd->footer(kInfoFooter);
  cmd->add_flag("--json", opts->json, "Write JSON instead of text (schema: docs/info.md)");
  auto* syn = cmd->add_option("--synthetic", opts->synthetic,
                              "Plan for an hwloc synthetic machine instead")
                  ->type_name("DESC");
  auto* xml = cmd->add_option("--topology", opts->topology,
                              "Plan for a machine saved as hwloc XML instead")
                  ->type_name("FILE.xml");
  syn->excludes(xml);
  cmd->add_flag("--measure", opts->measure,
                "Also measure this machine's ceilings (memory bandwidth per NUMA node; per GPU: copies, "
                "SGEMM), as 'tandem bench --roof' does; takes a few seconds")
      ->excludes(syn)
      ->excludes(xml);
  cmd->add_flag("--smt", opts->smt, "CPU teams run one thread per PU, not per core");
  cmd->add_option("--io", opts->io, "One I/O worker per package, NUMA node, or none")
      ->check(CLI::IsMember({"package", "numa", "none"}))
      ->capture_default_str();
  cmd->add_flag("--dedicated-io", opts->dedicated_io, "Take each I/O worker's core out of its CPU team");
  cmd->add_flag("--shared-gpu-cores", opts->shared_gpu_cores, "GPU feeders share cores with the CPU teams");
  cmd->callback([&commands, opts] { commands.run = [opts] { return run_info(*opts); }; });
}

}  // namespace tandem::cli
