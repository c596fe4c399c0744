// The per-pipeline, per-device throughput model that steers items between the
// CPU teams and the GPU workers. Measured online (EWMA of seconds per input
// byte plus a per-item overhead) and cached across runs in a small JSON file.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

namespace tandem {

class ThroughputModel {
 public:
  enum Dev { cpu = 0, gpu = 1 };

  /// `key` identifies the pipeline (its text); `cache` is the JSON file ("" = none).
  ThroughputModel(std::string key, std::string cache);

  /// Records that an item of `bytes` input bytes took `seconds` on one worker of `dev`.
  void observe(Dev dev, std::size_t bytes, double seconds);
  /// Predicted seconds for one worker of `dev`; negative when nothing is known yet.
  [[nodiscard]] double predict(Dev dev, std::size_t bytes) const;
  /// True when the GPU should leave this item to a CPU team: it is cheaper on
  /// one CPU team than on a GPU worker (tiny images), per the model; before the
  /// model knows both devices, items below `small_bytes` stay on the CPU.
  [[nodiscard]] bool prefer_cpu(std::size_t bytes, std::size_t small_bytes) const;
  /// Writes the cache file (best effort).
  void save() const;

 private:
  static constexpr std::size_t kSmallItem = 64u << 10;
  struct Rate {
    double sec_per_byte = -1;  // EWMA over items >= kSmallItem; -1 = unknown
    double overhead = -1;      // EWMA of the fixed cost per item, from small items
    double samples = 0, overhead_samples = 0;
  };
  std::string key_, cache_;
  mutable std::mutex mu_;
  Rate rate_[2];
};

}  // namespace tandem
