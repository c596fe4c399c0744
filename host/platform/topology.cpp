#include "tandem/topology.hpp"

#include "host/core/memory.hpp"
#include "host/platform/allowed.hpp"
#include "host/platform/xml_probe.hpp"

#include <hwloc.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include "tandem/config.hpp"
#include "tandem/device.hpp"
#if TANDEM_WITH_CUDA
#include "kernels/device_query.hpp"
#endif

namespace tandem {

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------
namespace {

struct BitmapDeleter {
  void operator()(hwloc_bitmap_s* b) const noexcept { hwloc_bitmap_free(b); }
};
using Bitmap = std::unique_ptr<hwloc_bitmap_s, BitmapDeleter>;
Bitmap make_bitmap() { return Bitmap(hwloc_bitmap_alloc()); }

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const noexcept { hwloc_topology_destroy(t); }
};
using TopologyHandle = std::unique_ptr<hwloc_topology, TopologyDeleter>;

int os_index_or_minus1(hwloc_obj_t obj) {
  return obj->os_index == HWLOC_UNKNOWN_INDEX ? -1 : static_cast<int>(obj->os_index);
}

/// OS indices of the PUs of `set` that exist in `topo`, ascending.
std::vector<int> pus_of(hwloc_topology_t topo, hwloc_const_cpuset_t set) {
  std::vector<int> out;
  hwloc_obj_t pu = nullptr;
  while ((pu = hwloc_get_next_obj_inside_cpuset_by_type(topo, set, HWLOC_OBJ_PU, pu)) != nullptr)
    out.push_back(os_index_or_minus1(pu));
  std::sort(out.begin(), out.end());
  return out;
}

std::string info_or_empty(hwloc_obj_t obj, const char* name) {
  const char* v = obj ? hwloc_obj_get_info_by_name(obj, name) : nullptr;
  return v ? std::string(v) : std::string();
}

std::string cpu_model_from_proc() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    // x86: "model name"; some other architectures: "cpu model" / "Processor".
    for (const char* key : {"model name", "cpu model", "Processor"}) {
      if (line.rfind(key, 0) == 0) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        if (!v.empty()) return v;
      }
    }
  }
  return {};
}

std::string format_busid(unsigned domain, unsigned bus, unsigned dev, unsigned func) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%x", domain, bus, dev, func);
  return buf;
}

/// Parses "dddd:bb:dd.f" or "bb:dd.f" (hex; CUDA also writes an 8-digit domain).
bool parse_busid(std::string_view s, unsigned& domain, unsigned& bus, unsigned& dev, unsigned& func) {
  const std::string str(s);
  domain = 0;
  func = 0;
  char tail = 0;
  if (std::sscanf(str.c_str(), "%x:%x:%x.%x%c", &domain, &bus, &dev, &func, &tail) == 4) return true;
  domain = 0;
  return std::sscanf(str.c_str(), "%x:%x.%x%c", &bus, &dev, &func, &tail) == 3;
}

}  // namespace

// ---------------------------------------------------------------------------
// Topology
// ---------------------------------------------------------------------------
struct Topology::Impl {
  TopologyHandle topo;
  TopologySource source = TopologySource::this_machine;
  std::string origin;
  HostInfo host;
  std::vector<PackageInfo> packages;
  std::vector<NumaNodeInfo> numa_nodes;
  std::vector<CoreInfo> cores;
  std::vector<CacheInfo> caches;
  int pus = 0;

  [[nodiscard]] hwloc_topology_t handle() const { return topo.get(); }
  void summarise();
  [[nodiscard]] PciLocality locate(hwloc_obj_t io_obj) const;
};

namespace {

const std::vector<PackageInfo> kNoPackages;
const std::vector<NumaNodeInfo> kNoNodes;
const std::vector<CoreInfo> kNoCores;
const std::vector<CacheInfo> kNoCaches;
const HostInfo kNoHost;
const std::string kNoOrigin;

const char* cache_type_name(hwloc_obj_cache_type_e t) {
  switch (t) {
    case HWLOC_OBJ_CACHE_DATA: return "data";
    case HWLOC_OBJ_CACHE_INSTRUCTION: return "instruction";
    default: return "unified";
  }
}

}  // namespace

void Topology::Impl::summarise() {
  hwloc_topology_t t = handle();
  hwloc_obj_t root = hwloc_get_root_obj(t);
  pus = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);

  // NUMA nodes in OS index order (the core-assignment rule walks them so).
  std::vector<hwloc_obj_t> nodes;
  for (hwloc_obj_t n = nullptr; (n = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, n)) != nullptr;)
    nodes.push_back(n);
  std::sort(nodes.begin(), nodes.end(), [](hwloc_obj_t a, hwloc_obj_t b) { return a->os_index < b->os_index; });
  for (hwloc_obj_t n : nodes) {
    NumaNodeInfo info;
    info.os_index = os_index_or_minus1(n);
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, n);
    info.package = pkg ? static_cast<int>(pkg->logical_index) : -1;
    info.local_memory_bytes = n->attr->numanode.local_memory;
    info.pus = pus_of(t, n->cpuset);
    numa_nodes.push_back(std::move(info));
  }

  // Cores; a topology without Core objects (some ARM boards, "pack:2 pu:4")
  // gets one pseudo-core per PU so that everything downstream still works.
  const hwloc_obj_type_t core_type =
      hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
  for (hwloc_obj_t c = nullptr; (c = hwloc_get_next_obj_by_type(t, core_type, c)) != nullptr;) {
    CoreInfo info;
    info.index = static_cast<int>(c->logical_index);
    info.os_index = core_type == HWLOC_OBJ_CORE ? os_index_or_minus1(c) : -1;
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, c);
    info.package = pkg ? static_cast<int>(pkg->logical_index) : -1;
    info.pus = pus_of(t, c->cpuset);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (!hwloc_bitmap_iszero(nodes[i]->cpuset) && hwloc_bitmap_isincluded(c->cpuset, nodes[i]->cpuset)) {
        info.numa_node = numa_nodes[i].os_index;
        numa_nodes[i].cores.push_back(info.index);
        break;
      }
    }
    cores.push_back(std::move(info));
  }

  for (hwloc_obj_t p = nullptr; (p = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PACKAGE, p)) != nullptr;) {
    PackageInfo info;
    info.index = static_cast<int>(p->logical_index);
    info.os_index = os_index_or_minus1(p);
    info.cpu_model = info_or_empty(p, "CPUModel");
    info.pus = hwloc_get_nbobjs_inside_cpuset_by_type(t, p->cpuset, HWLOC_OBJ_PU);
    for (const CoreInfo& c : cores) {
      if (c.package != info.index) continue;
      info.cores.push_back(c.index);
      if (c.numa_node >= 0) info.numa_nodes.push_back(c.numa_node);
    }
    for (const NumaNodeInfo& n : numa_nodes)
      if (n.package == info.index) info.numa_nodes.push_back(n.os_index);
    std::sort(info.numa_nodes.begin(), info.numa_nodes.end());
    info.numa_nodes.erase(std::unique(info.numa_nodes.begin(), info.numa_nodes.end()), info.numa_nodes.end());
    packages.push_back(std::move(info));
  }

  // Caches, grouped by (level, type, size, line, sharing), smallest level first.
  using Key = std::tuple<int, int, std::uint64_t, int, int>;
  std::map<Key, int> groups;
  const int depth = hwloc_topology_get_depth(t);
  for (int d = 0; d < depth; ++d) {
    const hwloc_obj_type_t type = hwloc_get_depth_type(t, d);
    if (!hwloc_obj_type_is_cache(type)) continue;
    for (hwloc_obj_t c = nullptr; (c = hwloc_get_next_obj_by_depth(t, d, c)) != nullptr;) {
      int sharing = hwloc_get_nbobjs_inside_cpuset_by_type(t, c->cpuset, core_type);
      const Key key{static_cast<int>(c->attr->cache.depth), static_cast<int>(c->attr->cache.type),
                    c->attr->cache.size, static_cast<int>(c->attr->cache.linesize), sharing};
      ++groups[key];
    }
  }
  for (const auto& [key, count] : groups) {
    CacheInfo info;
    info.level = std::get<0>(key);
    info.type = cache_type_name(static_cast<hwloc_obj_cache_type_e>(std::get<1>(key)));
    info.size_bytes = std::get<2>(key);
    info.line_size = std::get<3>(key);
    info.cores_sharing = std::get<4>(key);
    info.count = count;
    caches.push_back(std::move(info));
  }
  // hwloc's cache type enum is unified(0), data(1), instruction(2); list data first like lstopo.
  std::stable_sort(caches.begin(), caches.end(), [](const CacheInfo& a, const CacheInfo& b) {
    auto rank = [](const CacheInfo& c) { return c.type == "data" ? 0 : c.type == "instruction" ? 1 : 2; };
    return std::make_tuple(a.level, rank(a)) < std::make_tuple(b.level, rank(b));
  });

  // Host identity: uname for this machine, the Machine object's info attributes for files.
  if (source == TopologySource::this_machine) {
    utsname u{};
    if (uname(&u) == 0) {
      host.hostname = u.nodename;
      host.os_name = u.sysname;
      host.os_release = u.release;
      host.os_version = u.version;
      host.architecture = u.machine;
    }
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) == 0 && name[0]) host.hostname = name;
  } else {
    host.hostname = info_or_empty(root, "HostName");
    host.os_name = info_or_empty(root, "OSName");
    host.os_release = info_or_empty(root, "OSRelease");
    host.os_version = info_or_empty(root, "OSVersion");
    host.architecture = info_or_empty(root, "Architecture");
  }
  for (const PackageInfo& p : packages) {
    if (!p.cpu_model.empty()) {
      host.cpu_model = p.cpu_model;
      break;
    }
  }
  if (host.cpu_model.empty()) host.cpu_model = info_or_empty(root, "CPUModel");
  if (host.cpu_model.empty() && source == TopologySource::this_machine) host.cpu_model = cpu_model_from_proc();
}

PciLocality Topology::Impl::locate(hwloc_obj_t io_obj) const {
  PciLocality loc;
  if (!io_obj) return loc;
  hwloc_topology_t t = handle();
  loc.found = true;
  hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(t, io_obj);
  if (!anc) return loc;
  loc.pus = pus_of(t, anc->cpuset);
  // The node(s) of the ancestor that have CPUs; one -> that node. Several
  // under a package/group (e.g. sub-NUMA clustering) -> the first one. Several
  // at the machine root means hwloc does not know the locality -> unknown.
  std::vector<int> candidates;
  for (const NumaNodeInfo& n : numa_nodes) {
    if (n.cores.empty() || n.os_index < 0) continue;
    if (hwloc_bitmap_isset(anc->nodeset, static_cast<unsigned>(n.os_index))) candidates.push_back(n.os_index);
  }
  const bool at_root = anc == hwloc_get_root_obj(t);
  if (candidates.size() == 1 || (!candidates.empty() && !at_root)) loc.numa_node = candidates.front();
  if (at_root && candidates.size() > 1) loc.pus.clear();  // "anywhere" says nothing
  return loc;
}

Topology::Topology() = default;
Topology::~Topology() = default;
Topology::Topology(const Topology&) = default;
Topology& Topology::operator=(const Topology&) = default;
Topology::Topology(Topology&&) noexcept = default;
Topology& Topology::operator=(Topology&&) noexcept = default;

Status Topology::load_this_machine(Topology& out) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return {Errc::internal, "hwloc_topology_init failed"};
  TopologyHandle topo(raw);
  // PCI devices give GPU locality, and only that: without a CUDA device the PCI
  // plugin is not loaded (it costs time, and leaks ~1 KB per load inside
  // hwloc 2.9). The GPU-vendor plugins would initialise CUDA/OpenCL themselves
  // (slow, and tandem asks the CUDA runtime directly).
  const bool want_pci = cuda_device_count() > 0;
  hwloc_topology_set_io_types_filter(raw, want_pci ? HWLOC_TYPE_FILTER_KEEP_IMPORTANT : HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_icache_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_ALL);  // off by default
  for (const char* plugin : {"cuda", "nvml", "opencl", "rsmi", "levelzero", "gl"})
    hwloc_topology_set_components(raw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, plugin);
  if (!want_pci) hwloc_topology_set_components(raw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "pci");
  if (hwloc_topology_load(raw) != 0)
    return {Errc::internal, std::string("hwloc could not discover this machine: ") + std::strerror(errno)};
  TANDEM_TRY(adopt(topo.release(), TopologySource::this_machine, "this machine", out));
  return detail::read_process_binding(out.native_handle(), out.allowed_);
}

Status Topology::load_synthetic(std::string_view description, Topology& out) {
  const std::string desc(description);
  if (desc.find_first_not_of(" \t") == std::string::npos)
    return {Errc::invalid_argument, "empty synthetic topology description (e.g. \"pack:2 numa:1 core:4 pu:2\")"};
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return {Errc::internal, "hwloc_topology_init failed"};
  TopologyHandle topo(raw);
  hwloc_topology_set_icache_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_ALL);
  if (hwloc_topology_set_synthetic(raw, desc.c_str()) != 0 || hwloc_topology_load(raw) != 0)
    return {Errc::invalid_argument,
            "invalid synthetic topology description \"" + desc +
                "\" (expected levels with counts ending in pu, e.g. \"pack:2 numa:1 l3:1 core:4 pu:2\")"};
  return adopt(topo.release(), TopologySource::synthetic, desc, out);
}

Status Topology::load_xml(const std::string& path, Topology& out) {
  std::string xml;
  {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      return {Errc::io_error, "topology file " + path + " is a directory, not an hwloc XML file"};
    std::ifstream in(path, std::ios::binary);
    if (!in) return {Errc::io_error, "cannot read topology file " + path + ": " + std::strerror(errno)};
    xml.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return {Errc::io_error, "cannot read topology file " + path + ": " + std::strerror(errno)};
  }
  // hwloc's XML import is not safe on malformed files: it sees them first in a
  // child process, and only what loads there is loaded here (from the same bytes).
  TANDEM_TRY(detail::probe_hwloc_xml(xml, path));
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return {Errc::internal, "hwloc_topology_init failed"};
  TopologyHandle topo(raw);
  hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_ALL);
  hwloc_topology_set_icache_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_ALL);
  if (hwloc_topology_set_xmlbuffer(raw, xml.data(), int(xml.size())) != 0 || hwloc_topology_load(raw) != 0)
    return {Errc::format_error, "topology file " + path +
                                    " is not a valid hwloc XML topology (make one with 'lstopo " +
                                    "--of xml FILE' and check it with 'lstopo-no-graphics --input FILE')"};
  return adopt(topo.release(), TopologySource::xml, path, out);
}

Status Topology::adopt(void* hwloc_topology, TopologySource source, std::string origin, Topology& out) {
  auto impl = std::make_shared<Impl>();
  impl->topo.reset(static_cast<hwloc_topology_t>(hwloc_topology));
  impl->source = source;
  impl->origin = std::move(origin);
  impl->summarise();
  if (impl->pus == 0) return {Errc::format_error, impl->origin + ": the topology has no PU"};
  out.allowed_.clear();
  for (const CoreInfo& c : impl->cores) out.allowed_.insert(out.allowed_.end(), c.pus.begin(), c.pus.end());
  std::sort(out.allowed_.begin(), out.allowed_.end());
  out.impl_ = std::move(impl);
  return {};
}

TopologySource Topology::source() const noexcept { return impl_ ? impl_->source : TopologySource::this_machine; }
const std::string& Topology::origin() const { return impl_ ? impl_->origin : kNoOrigin; }
const HostInfo& Topology::host() const { return impl_ ? impl_->host : kNoHost; }
const std::vector<PackageInfo>& Topology::packages() const { return impl_ ? impl_->packages : kNoPackages; }
const std::vector<NumaNodeInfo>& Topology::numa_nodes() const { return impl_ ? impl_->numa_nodes : kNoNodes; }
const std::vector<CoreInfo>& Topology::cores() const { return impl_ ? impl_->cores : kNoCores; }
const std::vector<CacheInfo>& Topology::caches() const { return impl_ ? impl_->caches : kNoCaches; }
int Topology::pu_count() const { return impl_ ? impl_->pus : 0; }
void* Topology::native_handle() const noexcept { return impl_ ? impl_->handle() : nullptr; }

const NumaNodeInfo* Topology::numa_node(int os_index) const {
  for (const NumaNodeInfo& n : numa_nodes())
    if (n.os_index == os_index) return &n;
  return nullptr;
}

const CoreInfo* Topology::core(int index) const {
  const auto& c = cores();
  if (index < 0 || static_cast<std::size_t>(index) >= c.size()) return nullptr;
  return &c[static_cast<std::size_t>(index)];
}

PciLocality Topology::pci_locality(std::string_view bus_id) const {
  unsigned domain = 0, bus = 0, dev = 0, func = 0;
  if (!impl_ || !parse_busid(bus_id, domain, bus, dev, func)) return {};
  return impl_->locate(hwloc_get_pcidev_by_busid(impl_->handle(), domain, bus, dev, func));
}

std::vector<GpuInfo> Topology::topology_gpus() const {
  std::vector<GpuInfo> gpus;
  if (!impl_) return gpus;
  hwloc_topology_t t = impl_->handle();

  // Fills what hwloc's CUDA/NVML/OpenCL OS devices record under `obj`.
  auto read_osdevs = [](hwloc_obj_t obj, GpuInfo& g, int& ordinal) {
    for (hwloc_obj_t c = obj->io_first_child; c; c = c->next_sibling) {
      if (c->type != HWLOC_OBJ_OS_DEVICE || !c->name) continue;
      const std::string name = c->name;
      const std::string model = info_or_empty(c, "GPUModel");
      if (!model.empty() && g.name.empty()) g.name = model;
      if (name.rfind("cuda", 0) == 0 && name.size() > 4) {
        ordinal = std::atoi(name.c_str() + 4);
        if (!model.empty()) g.name = model;
        const std::string mem = info_or_empty(c, "CUDAGlobalMemorySize");  // KiB
        if (!mem.empty()) g.memory_total_bytes = std::strtoull(mem.c_str(), nullptr, 10) * 1024;
        const std::string sms = info_or_empty(c, "CUDAMultiProcessors");
        if (!sms.empty()) g.sm_count = std::atoi(sms.c_str());
      }
    }
  };

  std::vector<std::pair<int, GpuInfo>> found;  // (ordinal or -1, gpu)
  for (hwloc_obj_t p = nullptr; (p = hwloc_get_next_pcidev(t, p)) != nullptr;) {
    const auto& a = p->attr->pcidev;
    if (a.vendor_id != 0x10de || (a.class_id != 0x0300 && a.class_id != 0x0302)) continue;
    GpuInfo g;
    g.source = "topology";
    g.pci_bus_id = format_busid(a.domain, a.bus, a.dev, a.func);
    int ordinal = -1;
    read_osdevs(p, g, ordinal);
    if (g.name.empty()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "NVIDIA GPU [10de:%04x]", a.device_id);
      g.name = buf;
    }
    const PciLocality loc = impl_->locate(p);
    g.numa_node = loc.numa_node;
    g.local_pus = loc.pus;
    found.emplace_back(ordinal, std::move(g));
  }
  // CUDA OS devices hwloc could not attach to a PCI device (attached elsewhere).
  for (hwloc_obj_t o = nullptr; (o = hwloc_get_next_osdev(t, o)) != nullptr;) {
    if (!o->name || std::strncmp(o->name, "cuda", 4) != 0) continue;
    if (o->parent && o->parent->type == HWLOC_OBJ_PCI_DEVICE && o->parent->attr->pcidev.vendor_id == 0x10de)
      continue;
    GpuInfo g;
    g.source = "topology";
    const int ordinal = std::atoi(o->name + 4);
    g.name = info_or_empty(o, "GPUModel");
    const std::string mem = info_or_empty(o, "CUDAGlobalMemorySize");
    if (!mem.empty()) g.memory_total_bytes = std::strtoull(mem.c_str(), nullptr, 10) * 1024;
    const std::string sms = info_or_empty(o, "CUDAMultiProcessors");
    if (!sms.empty()) g.sm_count = std::atoi(sms.c_str());
    if (g.name.empty()) g.name = "NVIDIA GPU";
    const PciLocality loc = impl_->locate(o);
    g.numa_node = loc.numa_node;
    g.local_pus = loc.pus;
    found.emplace_back(ordinal, std::move(g));
  }
  // Order: CUDA ordinals first (as recorded), then the rest in PCI order.
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    const bool ka = a.first >= 0, kb = b.first >= 0;
    if (ka != kb) return ka;
    return ka && a.first < b.first;
  });
  int next = 0;
  for (auto& [ordinal, g] : found) {
    g.index = ordinal >= 0 ? ordinal : next;
    next = std::max(next, g.index + 1);
    gpus.push_back(std::move(g));
  }
  return gpus;
}

const char* topology_source_name(TopologySource source) noexcept {
  switch (source) {
    case TopologySource::this_machine: return "this machine";
    case TopologySource::synthetic: return "synthetic";
    case TopologySource::xml: return "xml";
  }
  return "unknown";
}

double GpuInfo::memory_bandwidth_bytes_per_s() const noexcept {
  // Double data rate: two transfers per memory clock on the whole bus.
  return 2.0 * static_cast<double>(memory_clock_khz) * 1e3 * static_cast<double>(memory_bus_width_bits) / 8.0;
}

// ---------------------------------------------------------------------------
// GPU discovery
// ---------------------------------------------------------------------------
GpuScan find_gpus(const Topology& topo) {
  GpuScan scan;
  if (topo.source() != TopologySource::this_machine) {
    scan.gpus = topo.topology_gpus();
    if (!scan.gpus.empty()) {
      const auto n = scan.gpus.size();
      scan.status = std::to_string(n) + (n == 1 ? " NVIDIA GPU" : " NVIDIA GPUs") + " recorded in the topology";
    } else if (topo.source() == TopologySource::synthetic) {
      scan.status = "no GPU: synthetic topologies describe no I/O devices";
    } else {
      scan.status = "no GPU: the topology file records no NVIDIA GPU "
                    "(no PCI device 10de class 0300/0302, no CUDA OS device)";
    }
    return scan;
  }
#if TANDEM_WITH_CUDA
  std::string reason;
  for (const cuda::DeviceProperties& p : cuda::query_devices(&reason)) {
    GpuInfo g;
    g.index = p.ordinal;
    g.name = p.name;
    g.cc_major = p.cc_major;
    g.cc_minor = p.cc_minor;
    g.sm_count = p.sm_count;
    g.memory_total_bytes = p.memory_total_bytes;
    g.memory_free_bytes = p.memory_free_bytes;
    g.memory_bus_width_bits = p.memory_bus_width_bits;
    g.memory_clock_khz = p.memory_clock_khz;
    g.pci_bus_id = format_busid(static_cast<unsigned>(p.pci_domain), static_cast<unsigned>(p.pci_bus),
                                static_cast<unsigned>(p.pci_device), 0);
    g.source = "cuda-runtime";
    const PciLocality loc = topo.pci_locality(g.pci_bus_id);
    g.numa_node = loc.numa_node;
    g.local_pus = loc.pus;
    if (!loc.found && topo.numa_nodes().size() == 1) {
      g.numa_node = topo.numa_nodes().front().os_index;  // one node: locality is trivial
      g.local_pus = topo.numa_nodes().front().pus;
    }
    scan.gpus.push_back(std::move(g));
  }
  if (scan.gpus.empty()) {
    scan.status = "no usable GPU: " + reason;
  } else {
    const auto n = scan.gpus.size();
    scan.status = std::to_string(n) + (n == 1 ? " CUDA device" : " CUDA devices");
  }
#else
  scan.status = "no usable GPU: " + cuda_status();
#endif
  return scan;
}

// ---------------------------------------------------------------------------
// Binding (this machine)
// ---------------------------------------------------------------------------
namespace {
hwloc_topology_t this_machine() { return static_cast<hwloc_topology_t>(detail::this_machine_hwloc()); }
}  // namespace

Status bind_current_thread(std::span<const int> pus) {
  if (pus.empty()) return {Errc::invalid_argument, "bind_current_thread: empty PU list"};
  hwloc_topology_t topo = this_machine();
  Bitmap set = make_bitmap();
  for (int pu : pus) {
    if (pu < 0 || !hwloc_get_pu_obj_by_os_index(topo, static_cast<unsigned>(pu)))
      return {Errc::invalid_argument,
              "bind_current_thread: this machine has no PU with OS index " + std::to_string(pu)};
    hwloc_bitmap_set(set.get(), static_cast<unsigned>(pu));
  }
  if (hwloc_set_cpubind(topo, set.get(), HWLOC_CPUBIND_THREAD) != 0)
    return {Errc::unsupported, "binding the thread to PUs " + format_id_list(pus) + ": " + std::strerror(errno)};
  return {};
}

Status current_thread_pus(std::vector<int>& pus) {
  hwloc_topology_t topo = this_machine();
  Bitmap set = make_bitmap();
  if (hwloc_get_cpubind(topo, set.get(), HWLOC_CPUBIND_THREAD) != 0)
    return {Errc::unsupported, std::string("reading the thread's binding: ") + std::strerror(errno)};
  pus.clear();
  for (int i = hwloc_bitmap_first(set.get()); i >= 0; i = hwloc_bitmap_next(set.get(), i)) pus.push_back(i);
  return {};
}

Status bind_memory_to_numa_node(void* ptr, std::size_t bytes, int os_index) {
  return detail::bind_memory_to_numa(ptr, bytes, os_index);
}

std::string format_id_list(std::span<const int> ids) {
  std::vector<int> v(ids.begin(), ids.end());
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(v[i]);
    if (j > i) out += "-" + std::to_string(v[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace tandem
