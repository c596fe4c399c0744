// A Chrome / Perfetto trace-event recorder: complete ("X") events on named
// tracks (one per stage thread, worker and GPU stream), written as JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "tandem/status.hpp"

namespace tandem {

class Trace {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Trace(bool enabled) : enabled_(enabled), origin_(Clock::now()) {}
  [[nodiscard]] bool enabled() const noexcept { return enabled_; }

  /// Microseconds since the trace began.
  [[nodiscard]] double now_us() const noexcept {
    return std::chrono::duration<double, std::micro>(Clock::now() - origin_).count();
  }
  /// Registers a track ("reader", "cpu team 0", "cuda:0 stream 1") and returns its id.
  int track(const std::string& name);
  /// Records [start_us, end_us) named `name` in category `cat` on `track`.
  void span(int track, const char* name, const char* cat, double start_us, double end_us,
            const std::string& item = {});
  /// Writes the trace as {"traceEvents": [...]} to `path` (atomically).
  Status write(const std::string& path) const;

 private:
  struct Event {
    int track;
    const char* name;
    const char* cat;
    double start, end;
    std::string item;
  };
  bool enabled_;
  Clock::time_point origin_;
  mutable std::mutex mu_;
  std::vector<std::string> tracks_;
  std::vector<Event> events_;
};

/// Records a span from construction to destruction.
class TraceScope {
 public:
  TraceScope(Trace& t, int track, const char* name, const char* cat, std::string item = {})
      : t_(t), track_(track), name_(name), cat_(cat), item_(std::move(item)), start_(t.enabled() ? t.now_us() : 0) {}
  ~TraceScope() {
    if (t_.enabled()) t_.span(track_, name_, cat_, start_, t_.now_us(), item_);
  }
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  Trace& t_;
  int track_;
  const char* name_;
  const char* cat_;
  std::string item_;
  double start_;
};

}  // namespace tandem
