// Small helpers every tool and command shares: elapsed time and byte counts
// as people read them, one definition each so `tandem info`, `tandem run` and
// `tandem bench` say the same thing the same way.
#pragma once

#include <cstddef>
#include <string>

#include "host/engine/context.hpp"

namespace tandem::tools {

// The engine's clock and elapsed time, so the tools time as the engine does.
using engine::Clock;
using engine::seconds_since;

/// Binary units, one decimal only where it says something: "512 B",
/// "1.5 KiB", "64 GiB" (whole), "123 MiB" (three digits are enough).
std::string human_bytes(double bytes);

/// A byte count as people write it: "512M", "4G", "1.5GiB", "1048576" (K, M,
/// G, T are powers of 1024). False for anything else, zero or negative.
bool parse_bytes(const std::string& text, std::size_t& out);

}  // namespace tandem::tools
