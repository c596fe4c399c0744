// What a reduction (stats) gives a batch: its named values and the .json the
// batch writes for them (one definition for the engine, the streaming path and
// the pipeline bench, so the three write the same file), and how stats results
// of chunks merge (its streaming hooks).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tandem/pipeline.hpp"

namespace tandem::detail {

using NamedValues = std::vector<std::pair<std::string, double>>;

/// The last stage's f64 results named by its op's outputs ("count", "sum", ...), in op order.
inline NamedValues reduction_values(const Pipeline& p, const View& r) {
  NamedValues out;
  const auto& names = p.stages().back().op->outputs;
  for (std::size_t i = 0; i < names.size() && static_cast<std::int64_t>(i) < r.numel(); ++i)
    out.emplace_back(std::string(names[i]), r.ptr<double>()[i]);
  return out;
}

/// {"count": ..., "sum": ..., ...} in the values' order, as written to OUTDIR/<name>.json.
inline std::vector<std::byte> reduction_json(const NamedValues& values) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : values) j[k] = v;
  const std::string text = j.dump(2) + "\n";
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

// Streaming: chunk results [count, sum, min, max, mean, std] fold into
// [count, sum, min, max, mean, M2], merged with Chan et al.'s pairwise update
// of the second moment; NaN in either min or max propagates.
inline Status start_stats(Tensor& acc) {
  if (acc.view().data) return {};
  TANDEM_TRY(Tensor::create(DType::f64, {6}, Device::cpu(), acc));
  double* a = acc.view().ptr<double>();
  std::fill(a, a + 6, 0.0);
  a[2] = a[3] = NAN;
  return {};
}

inline Status combine_stats(Tensor& acc, const View& chunk) {
  TANDEM_TRY(start_stats(acc));
  double* a = acc.view().ptr<double>();
  const double* s = chunk.ptr<const double>();
  const double n = s[0];
  if (n <= 0) return {};
  const double m2b = s[5] * s[5] * n;
  if (a[0] == 0) {
    std::copy(s, s + 5, a);
    a[5] = m2b;
    return {};
  }
  const double total = a[0] + n;
  const double delta = s[4] - a[4];
  a[4] += delta * n / total;
  a[5] += m2b + delta * delta * a[0] * n / total;
  a[0] = total;
  a[1] += s[1];
  a[2] = (std::isnan(a[2]) || std::isnan(s[2])) ? NAN : std::min(a[2], s[2]);
  a[3] = (std::isnan(a[3]) || std::isnan(s[3])) ? NAN : std::max(a[3], s[3]);
  return {};
}

// M2 back to the population std; an empty input gives count 0, sum 0, the rest NaN.
inline Status finish_stats(Tensor& acc) {
  TANDEM_TRY(start_stats(acc));
  double* a = acc.view().ptr<double>();
  if (a[0] > 0) {
    a[5] = std::sqrt(a[5] / a[0]);
  } else {
    a[4] = a[5] = NAN;
  }
  return {};
}

}  // namespace tandem::detail
