// Merging run summaries (shards or ranks) into one.
#include "cli/tools/summary_merge.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "cli/tools/format.hpp"

namespace tandem::tools {

using nlohmann::json;

namespace {

bool is_summary(const json& j) {
  if (!j.is_object()) return false;
  for (const char* key : {"ok", "failed", "skipped", "not_started", "wall_seconds", "bytes_in", "bytes_out"})
    if (!j.contains(key) || !j[key].is_number()) return false;
  return j.contains("pipeline") && j["pipeline"].is_string() && j.contains("items") && j["items"].is_array() &&
         j.contains("stages") && j["stages"].is_array();
}

double busy_of(const json& summary) {
  double busy = 0;
  for (const auto& st : summary["stages"]) busy += st.value("busy_seconds", 0.0);
  return busy;
}

}  // namespace

Status merge_summaries(const std::vector<SummaryPart>& parts, const std::string& label, json& out) {
  if (parts.empty()) return {Errc::invalid_argument, "no summaries to merge"};
  for (const SummaryPart& p : parts)
    if (!is_summary(p.summary))
      return {Errc::format_error, p.origin + ": not a 'tandem run --json' summary"};
  const std::string pipeline = parts.front().summary["pipeline"];
  std::set<int> ids;
  for (const SummaryPart& p : parts) {
    if (p.summary["pipeline"] != pipeline)
      return {Errc::invalid_argument, p.origin + ": another pipeline ('" + p.summary["pipeline"].get<std::string>() +
                                          "', not '" + pipeline + "' as in " + parts.front().origin + ")"};
    if (!ids.insert(p.id).second)
      return {Errc::invalid_argument, p.origin + ": " + label + " " + std::to_string(p.id) + " given twice"};
  }

  json m{{"ok", 0}, {"failed", 0}, {"skipped", 0}, {"not_started", 0}, {"cancelled", false},
         {"wall_seconds", 0.0}, {"bytes_in", 0}, {"bytes_out", 0},
         {"io_memory", {{"limit_bytes", 0}, {"peak_bytes", 0}}}, {"pipeline", pipeline}};
  std::map<std::string, std::pair<int, double>> stages;  // name -> (threads, busy)
  std::map<std::string, std::uint64_t> per_device;
  std::vector<std::string> notices;
  std::vector<json> items;
  std::map<std::uint64_t, int> owner;  // item index -> part id
  json list = json::array();
  for (const SummaryPart& p : parts) {
    const json& s = p.summary;
    for (const char* key : {"ok", "failed", "skipped", "not_started", "bytes_in", "bytes_out"})
      m[key] = m[key].get<std::uint64_t>() + s[key].get<std::uint64_t>();
    m["cancelled"] = m["cancelled"].get<bool>() || s.value("cancelled", false);
    const double wall = s["wall_seconds"];
    m["wall_seconds"] = std::max(m["wall_seconds"].get<double>(), wall);
    if (s.contains("io_memory"))
      for (const char* key : {"limit_bytes", "peak_bytes"})
        m["io_memory"][key] = std::max(m["io_memory"][key].get<std::uint64_t>(), s["io_memory"].value(key, std::uint64_t{0}));
    for (const auto& st : s["stages"]) {
      auto& [threads, busy] = stages[st.value("name", std::string("?"))];
      threads += st.value("threads", 0);
      busy += st.value("busy_seconds", 0.0);
    }
    json devices = s.value("items_per_device", json::object());
    for (const auto& [d, n] : devices.items()) per_device[d] += n.get<std::uint64_t>();
    for (const auto& n : s.value("notices", json::array()))
      if (std::find(notices.begin(), notices.end(), n.get<std::string>()) == notices.end()) notices.push_back(n);
    for (const auto& it : s["items"]) {
      json item = it;
      item[label] = p.id;
      const std::uint64_t index = it.value("index", std::uint64_t{0});
      if (auto [at, fresh] = owner.emplace(index, p.id); !fresh)
        return {Errc::invalid_argument, p.origin + ": item " + std::to_string(index) + " (" +
                                            it.value("path", std::string("?")) + ") is also in " + label + " " +
                                            std::to_string(at->second)};
      items.push_back(std::move(item));
    }
    list.push_back({{label, p.id},
                    {"ok", s["ok"]},
                    {"failed", s["failed"]},
                    {"skipped", s["skipped"]},
                    {"not_started", s["not_started"]},
                    {"wall_seconds", wall},
                    {"busy_seconds", busy_of(s)},
                    {"items_per_device", devices},
                    {"stages", s["stages"]}});
  }
  std::sort(items.begin(), items.end(),
            [](const json& a, const json& b) { return a.value("index", 0ull) < b.value("index", 0ull); });
  std::sort(list.begin(), list.end(), [&](const json& a, const json& b) { return a[label] < b[label]; });
  m["stages"] = json::array();
  // Each stage's share of what the parts' threads could have done, as one run reports it.
  for (const auto& [name, tb] : stages) {
    double cap = 0;
    for (const SummaryPart& p : parts)
      for (const auto& st : p.summary["stages"])
        if (st.value("name", std::string()) == name) cap += p.summary["wall_seconds"].get<double>() * st.value("threads", 0);
    m["stages"].push_back({{"name", name},
                           {"threads", tb.first},
                           {"busy_seconds", tb.second},
                           {"busy_percent", cap > 0 ? 100.0 * tb.second / cap : 0.0}});
  }
  m["items_per_device"] = per_device;
  m["notices"] = notices;
  m[label + "s"] = std::move(list);
  m["items"] = std::move(items);
  out = std::move(m);
  return {};
}

void print_merged(std::ostream& os, const json& m, const std::string& label) {
  const double wall = m["wall_seconds"];
  const auto ok = m["ok"].get<std::uint64_t>(), failed = m["failed"].get<std::uint64_t>();
  char line[256];
  std::snprintf(line, sizeof line, "tandem: %zu %ss: %llu ok, %llu failed, %llu skipped in %.2f s (%.1f items/s, %s/s in)\n",
                m[label + "s"].size(), label.c_str(), static_cast<unsigned long long>(ok),
                static_cast<unsigned long long>(failed), static_cast<unsigned long long>(m["skipped"].get<std::uint64_t>()),
                wall, wall > 0 ? static_cast<double>(ok + failed) / wall : 0.0,
                human_bytes(wall > 0 ? m["bytes_in"].get<double>() / wall : 0.0).c_str());
  os << line;
  for (const auto& p : m[label + "s"]) {
    std::string devices;
    for (const auto& [d, n] : p["items_per_device"].items()) devices += " " + d + "=" + std::to_string(n.get<std::uint64_t>());
    std::snprintf(line, sizeof line, "  %s %d: %llu ok, %llu failed, %llu skipped, %.2f s, busy %.2f s;", label.c_str(),
                  p[label].get<int>(), static_cast<unsigned long long>(p["ok"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(p["failed"].get<std::uint64_t>()),
                  static_cast<unsigned long long>(p["skipped"].get<std::uint64_t>()), p["wall_seconds"].get<double>(),
                  p["busy_seconds"].get<double>());
    os << line << (devices.empty() ? " no items" : devices) << "\n";
  }
  for (const auto& it : m["items"])
    if (it.value("status", std::string()) == "failed")
      os << "  failed (" << label << " " << it[label].get<int>() << "): " << it.value("path", std::string("?")) << ": "
         << (it["error"].is_string() ? it["error"].get<std::string>() : std::string("?")) << "\n";
}

}  // namespace tandem::tools
