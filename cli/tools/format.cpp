#include "cli/tools/format.hpp"

#include <cmath>
#include <cctype>
#include <cstdio>
#include <string>

namespace tandem::tools {

std::string human_bytes(double bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (!(bytes >= 0) || std::isinf(bytes)) return "-";
  double v = bytes;
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  // Decided on the value as printed: 1023.96 KiB prints as "1024 KiB", not "1024.0 KiB".
  const bool whole = std::round(v * 10) == std::round(v) * 10;
  if (u == 0 || v >= 100.0 || whole) std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

bool parse_bytes(const std::string& text, std::size_t& out) {
  if (text.empty()) return false;
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (...) {
    return false;
  }
  std::string unit = text.substr(pos);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  if (!unit.empty() && unit.back() == 'I') unit.pop_back();
  double mul = 1;
  if (unit == "K") mul = 1024.0;
  else if (unit == "M") mul = 1024.0 * 1024;
  else if (unit == "G") mul = 1024.0 * 1024 * 1024;
  else if (unit == "T") mul = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty()) return false;
  if (!(v > 0)) return false;
  out = static_cast<std::size_t>(v * mul);
  return true;
}

}  // namespace tandem::tools
