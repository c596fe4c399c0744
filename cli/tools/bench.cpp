// `tandem bench` library part: STREAM-style host roof, GPU roof, and timing of
// ops through the op table (median of repeats, CUDA events on the GPU).
#include "cli/tools/bench.hpp"
#include "cli/tools/format.hpp"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "host/core/simd.hpp"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"
#include "tandem/placement.hpp"
#include "tandem/topology.hpp"
#include "tandem/ops/matmul.hpp"
#include "tandem/tensor.hpp"

#if TANDEM_WITH_CUDA
#include "kernels/runtime.hpp"
#include "kernels/timing.hpp"
#endif

namespace tandem::bench {

namespace {

using tools::Clock;
using tools::seconds_since;

// Binds the calling thread to `pus` (OS PU indices) for the object's lifetime
// and restores the previous mask afterwards; does nothing for an empty list.
class ScopedAffinity {
 public:
  explicit ScopedAffinity(const std::vector<int>* pus) {
    if (!pus || pus->empty()) return;
    if (sched_getaffinity(0, sizeof(old_), &old_) != 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int pu : *pus)
      if (pu >= 0 && pu < CPU_SETSIZE) CPU_SET(pu, &set);
    active_ = sched_setaffinity(0, sizeof(set), &set) == 0;
  }
  ~ScopedAffinity() {
    if (active_) sched_setaffinity(0, sizeof(old_), &old_);
  }
  ScopedAffinity(const ScopedAffinity&) = delete;
  ScopedAffinity& operator=(const ScopedAffinity&) = delete;
  [[nodiscard]] bool active() const { return active_; }

 private:
  cpu_set_t old_{};
  bool active_ = false;
};

// This machine's topology, loaded once; nullptr when hwloc cannot load it.
const Topology* this_machine() {
  static Topology topo;
  static const Status loaded = Topology::load_this_machine(topo);
  return loaded.ok() ? &topo : nullptr;
}

// STREAM's rule: each array at least 4x the last-level cache, so the sweep
// measures memory and not cache (at least 64 MiB, at most 1 GiB or 1/16 of RAM).
std::size_t auto_array_bytes() {
  std::uint64_t llc = 0;
  int level = 0;
  if (const Topology* topo = this_machine())
    for (const CacheInfo& c : topo->caches())
      if (c.type != "instruction" && c.level >= level) {
        const std::uint64_t total = c.size_bytes * std::uint64_t(std::max(c.count, 1));
        llc = c.level > level ? total : std::max(llc, total);
        level = c.level;
      }
  std::uint64_t bytes = std::max<std::uint64_t>(std::uint64_t(64) << 20, 4 * llc);
  bytes = std::min<std::uint64_t>(bytes, std::uint64_t(1) << 30);
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) bytes = std::min<std::uint64_t>(bytes, std::uint64_t(pages) * std::uint64_t(page) / 16);
  return std::size_t(std::max<std::uint64_t>(bytes, std::uint64_t(1) << 20));
}

// STREAM copy and triad on one team: arrays on the team's node, first touched
// and then swept by the same statically scheduled threads; best of repeats.
Status stream_team(const HostTeam& team, const RoofOptions& o, HostRoof& out) {
  const std::size_t want = o.host_array_bytes ? o.host_array_bytes : auto_array_bytes();
  const std::size_t n = std::max<std::size_t>(want / sizeof(double), 1024);
  const std::size_t bytes = n * sizeof(double);
  Buffer ba, bb, bc;
  TANDEM_TRY(Buffer::allocate(bytes, MemKind::host, ba, 0, team.numa_node));
  TANDEM_TRY(Buffer::allocate(bytes, MemKind::host, bb, 0, team.numa_node));
  TANDEM_TRY(Buffer::allocate(bytes, MemKind::host, bc, 0, team.numa_node));
  double* a = static_cast<double*>(ba.data());
  double* b = static_cast<double*>(bb.data());
  double* c = static_cast<double*>(bc.data());
  const auto sn = static_cast<std::int64_t>(n);
  const int threads = team.threads > 0 ? team.threads : omp_get_max_threads();
  const int repeats = std::max(o.repeats, 1);
  double best_copy = 1e300, best_triad = 1e300;
  bool all_bound = true;
  Clock::time_point t0;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const std::vector<int>* slot =
        std::size_t(t) < team.slots.size() ? &team.slots[std::size_t(t)] : nullptr;
    ScopedAffinity bind(slot);
    if (!bind.active()) {
#pragma omp atomic write
      all_bound = false;
    }
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < sn; ++i) {
      a[i] = 1.0;
      b[i] = 2.0;
      c[i] = 0.0;
    }
    // One extra untimed round as warm-up.
    for (int r = 0; r <= repeats; ++r) {
#pragma omp single
      t0 = Clock::now();
#pragma omp for schedule(static)
      for (std::int64_t i = 0; i < sn; ++i) c[i] = a[i];
#pragma omp single
      if (r > 0) best_copy = std::min(best_copy, seconds_since(t0));
      if (o.triad) {
#pragma omp single
        t0 = Clock::now();
#pragma omp for schedule(static)
        for (std::int64_t i = 0; i < sn; ++i) a[i] = b[i] + 3.0 * c[i];
#pragma omp single
        if (r > 0) best_triad = std::min(best_triad, seconds_since(t0));
      }
    }
  }
  // Keep the sweeps observable.
  if (a[n / 2] < 0 || c[n / 3] < 0) return {Errc::internal, "bench: STREAM arrays corrupted"};
  out.numa_node = team.numa_node;
  out.threads = threads;
  out.bound = !team.slots.empty() && all_bound;
  out.array_bytes = bytes;
  out.copy_gbps = 2.0 * double(bytes) / best_copy * 1e-9;
  out.triad_gbps = o.triad ? 3.0 * double(bytes) / best_triad * 1e-9 : 0.0;
  return {};
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Deterministic pseudo-random fill (splitmix64 per element index), parallel.
void fill_random(const View& v, std::uint64_t seed) {
  const std::int64_t n = v.numel();
  visit_dtype(v.dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = v.ptr<T>();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      std::uint64_t z = seed + std::uint64_t(i) * 0x9E3779B97F4A7C15ull;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      if constexpr (std::is_floating_point_v<T>) {
        p[i] = T(double((z >> 11) + 1) * 0x1.0p-53);  // (0, 1]: log and pow stay finite
      } else if constexpr (sizeof(T) == 1) {
        p[i] = T(z & 0xFF);
      } else {
        p[i] = T(z & 0xFFFF);
      }
    }
  });
}

Result skipped(Result r, std::string note) {
  r.skipped = true;
  r.note = std::move(note);
  return r;
}

bool is_image_kind(const OpSpec& s) { return s.kind == OpKind::image; }

#if TANDEM_WITH_CUDA
struct Event {
  void* e = nullptr;
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() { cuda::event_destroy(e); }
};
#endif

}  // namespace

// ---------------------------------------------------------------------------
// Roof
// ---------------------------------------------------------------------------

std::vector<HostTeam> host_teams() {
  // The placement plan's CPU teams (one per NUMA node, a thread per core bound
  // to it), plus the whole machine when there are several nodes. Without a
  // topology: all OpenMP threads, unbound.
  std::vector<HostTeam> teams;
  if (const Topology* topo = this_machine()) {
    PlacementOptions po;
    po.io = IoPlacement::none;
    const PlacementPlan plan = make_plan(*topo, {}, po);
    HostTeam all;
    for (const CpuTeam& t : plan.cpu_teams) {
      if (t.slots.empty()) continue;
      teams.push_back({t.numa_node, int(t.slots.size()), t.slots});
      all.slots.insert(all.slots.end(), t.slots.begin(), t.slots.end());
    }
    all.threads = int(all.slots.size());
    if (teams.size() > 1) teams.push_back(all);
  }
  if (teams.empty()) teams.push_back({-1, omp_get_max_threads(), {}});
  return teams;
}

double Roof::host_copy_gbps() const {
  // The whole-machine row when there is one, else the single node's.
  for (const auto& h : host)
    if (h.numa_node < 0) return h.copy_gbps;
  double sum = 0;
  for (const auto& h : host) sum += h.copy_gbps;
  return sum;
}

double Roof::gpu_copy_gbps(int device) const {
  for (const auto& g : gpu)
    if (g.device == device) return g.d2d_gbps;
  return 0;
}

Status measure_roof(const RoofOptions& o, Roof& out) {
  out = Roof{};
  for (const HostTeam& team : host_teams()) {
    HostRoof h;
    TANDEM_TRY(stream_team(team, o, h).with_context("bench: host roof"));
    out.host.push_back(h);
  }
  if (!o.gpus) {
    out.gpu_note = "not measured";
    return {};
  }
  const int n = cuda_device_count();
  if (n == 0) {
    out.gpu_note = cuda_status();
    return {};
  }
#if TANDEM_WITH_CUDA
  for (int d = 0; d < n; ++d) {
    GpuRoof g;
    g.device = d;
    auto note = [&g](const Status& s) {
      if (!s.ok()) g.note += (g.note.empty() ? "" : "; ") + s.message();
    };
    note(cuda::device_name(d, &g.name));
    note(cuda::roof_d2d_copy(d, o.gpu_bytes, o.repeats, &g.d2d_gbps));
    if (o.gpu_host_copies)
      note(cuda::roof_host_copies(d, o.gpu_bytes, o.repeats, &g.h2d_gbps, &g.d2h_gbps));
    if (o.sgemm_n > 0) note(cuda::roof_sgemm(d, o.sgemm_n, o.repeats, &g.sgemm_gflops));
    out.gpu.push_back(g);
  }
#endif
  return {};
}

// ---------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s.empty() ? "scalar" : s;
}

Status parse_kv(const std::string& text, std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  std::istringstream in(text);
  std::string tok;
  while (in >> tok) {
    const auto eq = tok.find('=');
    if (eq == std::string::npos || eq == 0)
      return {Errc::invalid_argument, "bench: parameter '" + tok + "' is not key=value"};
    out.emplace_back(tok.substr(0, eq), tok.substr(eq + 1));
  }
  return {};
}

std::string bench_params(const std::string& op, const std::vector<std::int64_t>& shape) {
  // The settings the comparison scripts use too (docs/performance.md).
  static const std::map<std::string, std::string, std::less<>> presets{
      {"gaussian", "sigma=2"},
      {"box", "size=5"},
      {"median", "size=5"},
      {"filter", "kernel=0.0625,0.125,0.0625;0.125,0.25,0.125;0.0625,0.125,0.0625"},
      {"threshold", "value=128"},
      {"clamp", "min=0.25 max=0.75"},
      {"pow", "p=2"},
  };
  if (op == "resize" && shape.size() >= 2)
    return "width=" + std::to_string(std::max<std::int64_t>(shape[1] / 2, 1)) +
           " height=" + std::to_string(std::max<std::int64_t>(shape[0] / 2, 1));
  const auto it = presets.find(op);
  return it == presets.end() ? std::string() : it->second;
}

Result run_case(const Case& c, const Options& o, const Roof& roof) {
  Result r;
  r.op = c.op;
  r.device = c.device.is_cpu() ? "cpu" : c.device.str();
  if (c.device.is_cpu()) r.simd = simd_target_name();
  r.shape = shape_text(c.shape);
  r.dtype = dtype_name(c.dtype);
  const OpSpec* spec = find_op(c.op);
  if (!spec) return skipped(r, "no op '" + c.op + "' in this build");

  // Parameters: the bench's defaults, then the caller's on top.
  std::vector<std::pair<std::string, std::string>> base, user;
  if (Status s = parse_kv(bench_params(c.op, c.shape), base); !s.ok()) return skipped(r, s.message());
  if (Status s = parse_kv(c.params, user); !s.ok()) return skipped(r, s.message());
  std::map<std::string, std::string, std::less<>> raw;
  for (auto& [k, v] : base) raw[k] = v;
  for (auto& [k, v] : user) raw[k] = v;
  for (auto& [k, v] : raw) r.params += (r.params.empty() ? "" : " ") + k + "=" + v;
  const bool is_matmul = spec->name == "matmul";
  OpArgs args;
  if (!is_matmul) {
    if (Status s = parse_args(*spec, raw, args); !s.ok()) return skipped(r, s.message());
  }

  if (c.device.is_cuda() && cuda_device_count() == 0) return skipped(r, "no GPU: " + cuda_status());

  // Input on the host, then resident on the device before any timing.
  Tensor host_in;
  if (Status s = Tensor::create(c.dtype, std::span<const std::int64_t>(c.shape.data(), c.shape.size()),
                                Device::cpu(), host_in);
      !s.ok())
    return skipped(r, s.message());
  fill_random(host_in.view(), 0x5EED);
  if (!is_matmul)
    if (Status s = check_input(*spec, host_in.view()); !s.ok()) return skipped(r, s.message());

  // matmul's table entry loads B from a file on every call; time the product
  // itself with a resident K x K B instead.
  Tensor host_b;
  MatmulParams mp;
  if (is_matmul) {
    if (c.shape.size() != 2) return skipped(r, "matmul: the bench needs a 2-d shape M x K");
    if (Status s = Tensor::create(c.dtype, {c.shape[1], c.shape[1]}, Device::cpu(), host_b); !s.ok())
      return skipped(r, s.message());
    fill_random(host_b.view(), 0xB0B);
    if (auto it = raw.find("tf32"); it != raw.end()) mp.allow_tf32 = it->second != "0";
    r.note = "B resident (" + shape_text({c.shape[1], c.shape[1]}) + "), API call";
  }

  Stream stream;
  Exec exec = Exec::cpu(o.threads);
  Tensor dev_in, dev_b;
  View in = host_in.view(), bv = host_b.view();
  if (c.device.is_cuda()) {
    if (Status s = Stream::create(c.device.index, stream); !s.ok()) return skipped(r, s.message());
    exec = Exec::cuda(stream);
    Status s = Tensor::create_like(host_in.view(), c.device, dev_in);
    if (s.ok()) s = copy(host_in.view(), dev_in.view(), stream.handle());
    if (s.ok() && is_matmul) s = Tensor::create_like(host_b.view(), c.device, dev_b);
    if (s.ok() && is_matmul) s = copy(host_b.view(), dev_b.view(), stream.handle());
    if (s.ok()) s = stream.synchronize();
    if (!s.ok()) return skipped(r, s.message());
    in = dev_in.view();
    bv = dev_b.view();
  }
  auto call = [&](Tensor& dst) -> Status {
    return is_matmul ? matmul(in, bv, dst, mp, exec) : run_op(*spec, args, in, dst, exec);
  };

  const int repeats = std::max(o.repeats, 1);
  std::vector<double> times;
  times.reserve(std::size_t(repeats));  // no allocation between timed calls: it could pin the freed output
  double out_bytes = 0;
  [[maybe_unused]] double enqueue_s = 0;  // host time to queue one call (sizes the GPU spin)
  // Warm-up: at least `warmup` calls and, on the CPU, at least 0.1 s (at most
  // 100 calls): the first calls of a fresh process run 2-4x slower here while
  // caches, the page tables and the block cache fill.
  const auto warm_start = Clock::now();
  for (int w = 0; w < std::max(o.warmup, 1) ||
                  (c.device.is_cpu() && w < 100 && seconds_since(warm_start) < 0.1);
       ++w) {
    Tensor dst;
    const auto t0 = Clock::now();
    Status s = call(dst);
    enqueue_s = seconds_since(t0);
    if (s.ok() && c.device.is_cuda()) s = stream.synchronize();
    if (!s.ok()) return skipped(r, s.message());
    out_bytes = double(dst.view().nbytes());
  }
  if (c.device.is_cpu()) {
    for (int i = 0; i < repeats; ++i) {
      Tensor dst;
      const auto t0 = Clock::now();
      Status s = call(dst);
      const double t = seconds_since(t0);
      if (!s.ok()) return skipped(r, s.message());
      times.push_back(t);
    }
  } else {
#if TANDEM_WITH_CUDA
    // Outputs stay alive until every repeat is done: a cudaFree in between
    // would synchronize the device and put host time into the GPU timeline.
    const auto n_rep = std::size_t(repeats);
    std::vector<Tensor> dsts(n_rep);
    std::vector<Event> start(n_rep), stop(n_rep);
    const double spin_us = std::clamp(2e6 * enqueue_s + 200.0, 1000.0, 200000.0);
    for (int i = 0; i < repeats; ++i) {
      Status s = cuda::event_create(c.device.index, &start[std::size_t(i)].e);
      if (s.ok()) s = cuda::event_create(c.device.index, &stop[std::size_t(i)].e);
      if (s.ok()) s = cuda::spin(stream.handle(), spin_us);
      if (s.ok()) s = cuda::event_record(start[std::size_t(i)].e, stream.handle());
      if (s.ok()) s = call(dsts[std::size_t(i)]);
      if (s.ok()) s = cuda::event_record(stop[std::size_t(i)].e, stream.handle());
      if (!s.ok()) return skipped(r, s.message());
    }
    for (int i = 0; i < repeats; ++i) {
      float ms = 0;
      if (Status s = cuda::event_elapsed_ms(start[std::size_t(i)].e, stop[std::size_t(i)].e, &ms); !s.ok())
        return skipped(r, s.message());
      times.push_back(double(ms) * 1e-3);
    }
    if (Status s = stream.synchronize(); !s.ok()) return skipped(r, s.message());
#else
    return skipped(r, "no GPU: " + cuda_status());
#endif
  }

  r.repeats = repeats;
  r.median_s = median_of(times);
  r.min_s = *std::min_element(times.begin(), times.end());
  r.max_s = *std::max_element(times.begin(), times.end());
  const double t = std::max(r.median_s, 1e-12);
  r.bytes = double(host_in.view().nbytes()) + out_bytes + (is_matmul ? double(host_b.view().nbytes()) : 0.0);
  r.gbps = r.bytes / t * 1e-9;
  if (is_matmul) {
    r.items = 2.0 * double(c.shape[0]) * double(c.shape[1]) * double(c.shape[1]);
    r.rate_unit = "GFLOP/s";
    r.rate = r.items / t * 1e-9;
  } else if (is_image_kind(*spec) && c.shape.size() >= 2) {
    r.items = double(c.shape[0]) * double(c.shape[1]);
    r.rate_unit = "Mpix/s";
    r.rate = r.items / t * 1e-6;
  } else {
    r.items = double(host_in.view().numel());
    r.rate_unit = "Melem/s";
    r.rate = r.items / t * 1e-6;
  }
  if (is_matmul) {
    // Compute-bound: compared with cuBLAS SGEMM on the GPU; no CPU FLOP roof is measured.
    for (const auto& g : roof.gpu)
      if (c.device.is_cuda() && g.device == c.device.index && g.sgemm_gflops > 0 && c.dtype == DType::f32) {
        r.pct_roof = 100.0 * r.rate / g.sgemm_gflops;
        r.note += "; % of cuBLAS SGEMM";
      }
  } else {
    r.roof_gbps = c.device.is_cpu() ? roof.host_copy_gbps() : roof.gpu_copy_gbps(c.device.index);
    if (r.roof_gbps > 0) r.pct_roof = 100.0 * r.gbps / r.roof_gbps;
  }
  return r;
}

std::vector<Case> default_cases(const MatrixOptions& o) {
  std::vector<Case> out;
  for (const OpSpec* spec : op_table()) {
    if (!o.only_op.empty() && spec->name != o.only_op) continue;
    auto pick = [&](DType want) {
      if (spec->dtypes.empty() || std::find(spec->dtypes.begin(), spec->dtypes.end(), want) != spec->dtypes.end())
        return want;
      return spec->dtypes.front();
    };
    std::vector<Case> per_device;
    if (spec->name == "matmul") {
      per_device.push_back({std::string(spec->name), "", Device::cpu(), {o.matmul_n, o.matmul_n}, pick(DType::f32)});
    } else if (is_image_kind(*spec)) {
      std::vector<int> chans;
      for (int ch : o.channels)
        if (ch >= 1 && ch < 32 && (spec->channels & (1u << ch))) chans.push_back(ch);
      if (chans.empty())
        for (int ch = 1; ch <= 4; ++ch)
          if (spec->channels & (1u << ch)) {
            chans.push_back(ch);
            break;
          }
      for (int ch : chans) {
        std::vector<std::int64_t> shape{o.height, o.width};
        if (ch > 1) shape.push_back(ch);
        per_device.push_back({std::string(spec->name), "", Device::cpu(), shape, pick(o.image_dtype)});
      }
    } else {
      per_device.push_back({std::string(spec->name), "", Device::cpu(), {o.elements}, pick(o.array_dtype)});
    }
    for (const Case& base : per_device)
      for (Device d : o.devices) {
        Case cs = base;
        cs.device = d;
        out.push_back(cs);
      }
  }
  return out;
}

nlohmann::json roof_to_json(const Roof& roof) {
  using nlohmann::json;
  json host = json::array();
  for (const auto& h : roof.host)
    host.push_back({{"numa_node", h.numa_node}, {"threads", h.threads}, {"bound", h.bound},
                    {"array_bytes", h.array_bytes}, {"copy_gbps", h.copy_gbps}, {"triad_gbps", h.triad_gbps}});
  json gpu = json::array();
  for (const auto& g : roof.gpu)
    gpu.push_back({{"device", g.device}, {"name", g.name}, {"d2d_gbps", g.d2d_gbps}, {"h2d_gbps", g.h2d_gbps},
                   {"d2h_gbps", g.d2h_gbps}, {"sgemm_gflops", g.sgemm_gflops}, {"note", g.note}});
  return {{"host", host}, {"gpu", gpu}, {"gpu_note", roof.gpu_note}};
}

std::string to_json(const Roof& roof, const std::vector<Result>& results) {
  using nlohmann::json;
  json j;
  j["roof"] = roof_to_json(roof);
  json rows = json::array();
  for (const auto& r : results) {
    json row{{"op", r.op}, {"params", r.params}, {"device", r.device}, {"shape", r.shape},
             {"dtype", r.dtype}, {"simd", r.simd.empty() ? json(nullptr) : json(r.simd)}, {"skipped", r.skipped},
             {"note", r.note}};
    if (!r.skipped) {
      row["repeats"] = r.repeats;
      row["median_s"] = r.median_s;
      row["min_s"] = r.min_s;
      row["max_s"] = r.max_s;
      row["rate"] = r.rate;
      row["rate_unit"] = r.rate_unit;
      row["bytes"] = r.bytes;
      row["gbps"] = r.gbps;
      row["roof_gbps"] = r.roof_gbps;
      if (r.pct_roof >= 0) row["pct_roof"] = r.pct_roof;
      else row["pct_roof"] = nullptr;
    }
    rows.push_back(row);
  }
  j["results"] = rows;
  return j.dump(2);
}

}  // namespace tandem::bench
