// OpenMP helpers for the CPU implementations.
#pragma once

#include <omp.h>

#include "tandem/device.hpp"

namespace tandem {

/// Threads a CPU op uses: Exec::threads when set, else the OpenMP default
/// (inside a pipeline team, the team's size).
inline int cpu_threads(const Exec& exec) noexcept {
  return exec.threads > 0 ? exec.threads : omp_get_max_threads();
}

}  // namespace tandem
