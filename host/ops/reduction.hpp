// What a reduction (stats) gives a batch: its named values and the .json the
// batch writes for them. One definition for the engine, the streaming path and
// the pipeline bench, so the three write the same file.
#pragma once

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

}  // namespace tandem::detail
