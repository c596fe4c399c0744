// Small helpers every tool and command shares: elapsed time and byte counts
// as people read them, one definition each so `tandem info`, `tandem run` and
// `tandem bench` say the same thing the same way.
#pragma once

#include <chrono>
#include <string>

namespace tandem::tools {

using Clock = std::chrono::steady_clock;

/// Seconds from `t0` to now on the steady clock.
inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Binary units, one decimal only where it says something: "512 B",
/// "1.5 KiB", "64 GiB" (whole), "123 MiB" (three digits are enough).
std::string human_bytes(double bytes);

}  // namespace tandem::tools
