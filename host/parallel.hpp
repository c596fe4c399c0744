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

/// Marks a hot CPU loop function to be compiled twice, for AVX2 and for the
/// baseline ISA, and picked at load time (GCC function multi-versioning): the
/// library stays portable while the vectoriser gets 256-bit registers and
/// roundps / pmulld / packusdw where the CPU has them.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define TANDEM_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TANDEM_CPU_CLONES
#endif
