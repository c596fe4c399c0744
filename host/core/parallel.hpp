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

// Hot CPU loop functions (TANDEM_CPU_CLONES) are compiled three times, for AVX-512
// (x86-64-v4), AVX2 + FMA (x86-64-v3) and the baseline, and the loader picks
// the best the CPU has (GCC/Clang function multiversioning, as OpenCV's
// run-time dispatch): the build itself stays baseline x86-64. The helpers they
// call are forced inline so that they are compiled for the same target.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__) && !defined(TANDEM_NO_CPU_CLONES)
#define TANDEM_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TANDEM_CPU_CLONES
#endif

namespace tandem {
/// GCC vector types of `Bytes` bytes of T, for register-blocked loops that the
/// target_clones / target("...") functions compile to their own width: V for
/// locals, U to load from any T-aligned address (may_alias). Only as locals or
/// references, never as parameters or results by value (the ABI would change).
template <class T, int Bytes>
struct GccVec {
  typedef T V __attribute__((vector_size(Bytes)));
  typedef T U __attribute__((vector_size(Bytes), aligned(alignof(T)), may_alias));
};
}  // namespace tandem

// Hand-written AVX2 paths (functions with __attribute__((target("avx2"))))
// are compiled where this is 1 and called only when cpu_has_avx2().
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#define TANDEM_HAVE_AVX2_PATHS 1
// Helpers of those functions: compiled for AVX2 and inlined into them.
#define TANDEM_AVX2_INLINE __attribute__((target("avx2"), always_inline)) inline
namespace tandem {
inline bool cpu_has_avx2() noexcept {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return yes;
}
}  // namespace tandem
#else
#define TANDEM_HAVE_AVX2_PATHS 0
#endif
