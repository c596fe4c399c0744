#include "host/engine/trace.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace tandem {

int Trace::track(const std::string& name) {
  std::lock_guard lock(mu_);
  tracks_.push_back(name);
  return static_cast<int>(tracks_.size()) - 1;
}

void Trace::span(int track, const char* name, const char* cat, double start_us, double end_us,
                 const std::string& item) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  events_.push_back({track, name, cat, start_us, end_us, item});
}

Status Trace::write(const std::string& path) const {
  nlohmann::json events = nlohmann::json::array();
  std::lock_guard lock(mu_);
  const int pid = static_cast<int>(::getpid());
  for (std::size_t i = 0; i < tracks_.size(); ++i) {
    events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", pid}, {"tid", i}, {"args", {{"name", tracks_[i]}}}});
    events.push_back({{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", pid}, {"tid", i}, {"args", {{"sort_index", i}}}});
  }
  for (const auto& e : events_) {
    nlohmann::json j{{"ph", "X"}, {"name", e.name}, {"cat", e.cat}, {"pid", pid}, {"tid", e.track},
                     {"ts", e.start}, {"dur", e.end - e.start}};
    if (!e.item.empty()) j["args"] = {{"item", e.item}};
    events.push_back(std::move(j));
  }
  const nlohmann::json doc{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}};
  const std::string tmp = path + ".tandem-tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return {Errc::io_error, "cannot write trace " + path};
    f << doc.dump();
    if (!f.flush()) {
      std::remove(tmp.c_str());
      return {Errc::io_error, "cannot write trace " + path};
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return {Errc::io_error, "cannot write trace " + path};
  }
  return {};
}

}  // namespace tandem
