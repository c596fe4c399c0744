// The allowed PU set of a topology: the process's binding on this machine,
// or what restrict_to() narrowed it to for a rank of another machine.
#include "host/platform/allowed.hpp"

#include <hwloc.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <string>

#include "tandem/topology.hpp"

namespace tandem {

namespace detail {

Status read_process_binding(void* handle, std::vector<int>& allowed) {
  auto* topo = static_cast<hwloc_topology_t>(handle);
  std::unique_ptr<hwloc_bitmap_s, void (*)(hwloc_bitmap_t)> set(hwloc_bitmap_alloc(), hwloc_bitmap_free);
  // The union of the binding of every thread of the process: at load time no
  // thread of tandem's has been bound yet, so this is what the process was
  // started with (taskset, numactl, mpirun --bind-to, a cgroup cpuset).
  if (hwloc_get_cpubind(topo, set.get(), HWLOC_CPUBIND_PROCESS) != 0) return {};
  hwloc_bitmap_and(set.get(), set.get(), hwloc_topology_get_allowed_cpuset(topo));
  std::vector<int> bound;
  for (int pu : allowed)
    if (hwloc_bitmap_isset(set.get(), static_cast<unsigned>(pu))) bound.push_back(pu);
  if (!bound.empty()) allowed = std::move(bound);  // an empty answer says nothing usable
  return {};
}

}  // namespace detail

bool Topology::restricted() const noexcept {
  return static_cast<int>(allowed_.size()) != pu_count();
}

Status Topology::restrict_to(std::span<const int> pus) {
  if (pus.empty()) return {Errc::invalid_argument, "the allowed CPU set is empty"};
  std::vector<int> want(pus.begin(), pus.end());
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  std::vector<int> outside;
  std::set_difference(want.begin(), want.end(), allowed_.begin(), allowed_.end(), std::back_inserter(outside));
  if (!outside.empty())
    return {Errc::invalid_argument, "allowed CPU set: " + origin() + " has no allowed PU " + format_id_list(outside) +
                                        " (its allowed PUs are " + format_id_list(allowed_) + ")"};
  allowed_ = std::move(want);
  return {};
}

namespace {
// 'text', built by appending (GCC 12 warns falsely on "'" + std::string(...)).
std::string quoted(std::string_view text) {
  std::string q(1, '\'');
  q.append(text);
  q.push_back('\'');
  return q;
}
}  // namespace

Status parse_id_list(std::string_view text, std::vector<int>& ids) {
  auto bad = [&](std::string_view part, const char* why) {
    std::string m = "not a CPU list: ";
    m += quoted(text);
    m += " (";
    if (!part.empty()) (m += quoted(part)) += " ";
    m += why;
    m += "; e.g. 0-3,8,10-11)";
    return Status{Errc::invalid_argument, m};
  };
  if (text.empty()) return bad({}, "is empty");
  std::vector<int> out;
  auto number = [](std::string_view s, int& v) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() && v >= 0;
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view part = text.substr(start, comma - start);
    const std::size_t dash = part.find('-');
    int lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!number(part, lo)) return bad(part, "is not a CPU number");
      hi = lo;
    } else if (!number(part.substr(0, dash), lo) || !number(part.substr(dash + 1), hi)) {
      return bad(part, "is not a range of CPU numbers");
    } else if (hi < lo) {
      return bad(part, "runs backwards");
    }
    if (hi - lo > (1 << 20)) return bad(part, "is too long a range");
    for (int i = lo; i <= hi; ++i) out.push_back(i);
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  ids = std::move(out);
  return {};
}

}  // namespace tandem
