#include "host/engine/model.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace tandem {

namespace fs = std::filesystem;

ThroughputModel::ThroughputModel(std::string key, std::string cache) : key_(std::move(key)), cache_(std::move(cache)) {
  if (cache_.empty()) return;
  std::ifstream f(cache_);
  if (!f) return;
  const auto j = nlohmann::json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains(key_)) return;
  const auto& e = j[key_];
  const char* names[2] = {"cpu", "gpu"};
  for (int d = 0; d < 2; ++d) {
    if (!e.contains(names[d])) continue;
    const auto& r = e[names[d]];
    if (r.contains("sec_per_byte") && r["sec_per_byte"].is_number()) rate_[d].sec_per_byte = r["sec_per_byte"];
    if (r.contains("overhead") && r["overhead"].is_number()) rate_[d].overhead = r["overhead"];
    // A cached rate counts as a few samples, so fresh measurements take over quickly.
    if (rate_[d].sec_per_byte >= 0) rate_[d].samples = 2;
    if (rate_[d].overhead >= 0) rate_[d].overhead_samples = 2;
  }
}

void ThroughputModel::observe(Dev dev, std::size_t bytes, double seconds) {
  if (seconds <= 0) return;
  std::lock_guard lock(mu_);
  Rate& r = rate_[dev];
  // Small items (< 64 KiB) measure the fixed cost per item, larger ones the
  // cost per byte once the fixed cost is taken off; each an EWMA that starts
  // as a plain mean.
  const double b = static_cast<double>(bytes ? bytes : 1);
  auto ewma = [](double& value, double& n, double sample) {
    const double alpha = n < 8 ? 1.0 / (n + 1) : 0.125;
    value = value < 0 ? sample : value + alpha * (sample - value);
    n += 1;
  };
  if (bytes < kSmallItem) {
    ewma(r.overhead, r.overhead_samples, std::max(0.0, seconds - std::max(0.0, r.sec_per_byte) * b));
  } else {
    ewma(r.sec_per_byte, r.samples, std::max(0.0, seconds - std::max(0.0, r.overhead)) / b);
  }
}

double ThroughputModel::predict(Dev dev, std::size_t bytes) const {
  std::lock_guard lock(mu_);
  const Rate& r = rate_[dev];
  if (r.sec_per_byte < 0 && r.overhead < 0) return -1;
  return std::max(0.0, r.overhead) + std::max(0.0, r.sec_per_byte) * static_cast<double>(bytes);
}

bool ThroughputModel::prefer_cpu(std::size_t bytes, std::size_t small_bytes) const {
  const double c = predict(cpu, bytes), g = predict(gpu, bytes);
  if (c < 0 || g < 0) return bytes < small_bytes;
  return c < g;
}

void ThroughputModel::save() const {
  if (cache_.empty()) return;
  std::error_code ec;
  fs::create_directories(fs::path(cache_).parent_path(), ec);
  nlohmann::json j = nlohmann::json::object();
  {
    std::ifstream f(cache_);
    if (f) {
      auto old = nlohmann::json::parse(f, nullptr, false);
      if (old.is_object()) j = std::move(old);
    }
  }
  nlohmann::json e = nlohmann::json::object();
  const char* names[2] = {"cpu", "gpu"};
  {
    std::lock_guard lock(mu_);
    for (int d = 0; d < 2; ++d)
      if (rate_[d].sec_per_byte >= 0 || rate_[d].overhead >= 0)
        e[names[d]] = {{"sec_per_byte", rate_[d].sec_per_byte}, {"overhead", rate_[d].overhead}};
  }
  if (e.empty()) return;
  j[key_] = e;
  const std::string tmp = cache_ + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return;
    f << j.dump(1);
    if (!f.flush()) return;
  }
  fs::rename(tmp, cache_, ec);
}

}  // namespace tandem
