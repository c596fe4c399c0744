#include "cli/tools/format.hpp"

#include <cmath>
#include <cstdio>

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

}  // namespace tandem::tools
