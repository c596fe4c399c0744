// The run-time side of tandem's SIMD layer (Google Highway): which target the
// CPU kernels use, which targets this CPU supports, and the TANDEM_SIMD cap.
// The vector code itself lives in host/ops/<op>_hwy.cpp, compiled once per
// target (foreach_target.h) and dispatched with HWY_DYNAMIC_DISPATCH.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.hpp"

namespace tandem {

/// Asks for the cache line holding p to be brought into the L2 cache ahead of its use
/// (prefetcht1 on x86). For the rows a kernel reads next: hwy::Prefetch (into L1) takes
/// one of L1's few miss buffers per line, and a row's worth of them stalled the loads they
/// were meant to help (u8 resize 0.37x RGB: 4.7 ms with either, 3.7 ms with this, Zen 4).
inline void prefetch_to_l2(const void* p) noexcept { __builtin_prefetch(p, 0, 2); }

/// The environment variable that caps the SIMD target: `best` (the default),
/// or on x86 `avx512`, `avx2`, `sse4`, `scalar`; on Arm `sve2`, `sve`, `neon`
/// (no scalar target there). Targets better than the one named are not used.
inline constexpr const char* kSimdEnv = "TANDEM_SIMD";

/// The target the CPU kernels use now, in Highway's words ("AVX3", "AVX2",
/// "SSE4", "SCALAR"; "NEON", "SVE", ... on Arm): the best target this build has
/// code for and this CPU runs, after the TANDEM_SIMD cap.
std::string simd_target_name();

/// Every target this build has code for and this CPU runs, best first,
/// whatever the cap.
std::vector<std::string> simd_supported_targets();

/// The TANDEM_SIMD value in force ("best" when unset or empty).
std::string simd_cap();

namespace detail {

/// Applies TANDEM_SIMD once (on the first call, before any vector kernel is
/// dispatched) and returns its verdict on every call: an error names the
/// variable, its value and the accepted values. Also settles the target
/// HWY_DYNAMIC_DISPATCH picks, so a kernel's pointer can be taken once. Every
/// CPU op with vector code calls it before dispatching.
Status simd_ready();

/// The Highway targets (HWY_AVX2, ...) a TANDEM_SIMD value disables: every
/// target better than the one it names; 0 for "best".
Status parse_simd_cap(std::string_view value, std::int64_t& disabled);

/// The targets the kernels may use, as Highway target bits, best first: those
/// this build has and this CPU runs, within the cap.
std::vector<std::int64_t> simd_target_bits();

/// Highway's name of one target bit.
std::string simd_target_name(std::int64_t target);

/// Restricts the kernels to one target of simd_target_bits() (tests); 0 lifts
/// the restriction. Not thread-safe: call it while no kernel runs.
void set_simd_target(std::int64_t target);

}  // namespace detail
}  // namespace tandem
