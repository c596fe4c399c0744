#include "host/core/simd.hpp"

#include <hwy/targets.h>

#include <cstdlib>
#include <utility>

namespace tandem {
namespace detail {
namespace {

// The fallback every build has: EMU128 where the compiler can build it, else SCALAR.
constexpr std::int64_t kFallback = (HWY_TARGETS & HWY_EMU128) ? HWY_EMU128 : HWY_SCALAR;

struct CapName {
  const char* name;
  std::int64_t target;  // the best target the cap allows
};

// The values TANDEM_SIMD takes on this architecture, best first.
#if HWY_ARCH_X86
constexpr CapName kCaps[] = {{"avx512", HWY_AVX3}, {"avx2", HWY_AVX2}, {"sse4", HWY_SSE4}, {"scalar", kFallback},
                             {"emu128", kFallback}};
#elif HWY_ARCH_ARM
constexpr CapName kCaps[] = {{"sve2", HWY_SVE2}, {"sve", HWY_SVE}, {"neon", HWY_NEON}, {"scalar", kFallback},
                             {"emu128", kFallback}};
#else
constexpr CapName kCaps[] = {{"scalar", kFallback}, {"emu128", kFallback}};
#endif

// A cap must name a target this build has code for: on Arm, NEON is the
// baseline and Highway (1.0.3 with GCC < 12.3) compiles no SCALAR or EMU128
// fallback, so there is no `scalar` to cap at.
constexpr bool compiled(const CapName& c) { return (c.target & HWY_TARGETS) != 0; }

std::string accepted_values() {
  std::string s = "best";
  for (const CapName& c : kCaps)
    if (compiled(c)) s += std::string(", ") + c.name;
  return s;
}

struct SimdState {
  Status status;
  std::string cap;
  std::int64_t supported = 0;  // compiled and run by this CPU, before the cap
  std::int64_t usable = 0;     // within the cap
};

const SimdState& state() {
  static const SimdState s = [] {
    SimdState st;
    st.supported = hwy::SupportedTargets() & HWY_TARGETS;
    const char* v = std::getenv(kSimdEnv);
    st.cap = v && *v ? v : "best";
    std::int64_t disabled = 0;
    st.status = parse_simd_cap(st.cap, disabled);
    if (st.status.ok() && disabled != 0) hwy::DisableTargets(disabled);
    st.usable = hwy::SupportedTargets() & HWY_TARGETS;
    return st;
  }();
  return s;
}

// The lowest set bit of a Highway target mask: its best target.
std::int64_t best_of(std::int64_t mask) { return mask & -mask; }

}  // namespace

Status parse_simd_cap(std::string_view value, std::int64_t& disabled) {
  disabled = 0;
  if (value == "best") return {};
  for (const CapName& c : kCaps)
    if (value == c.name && compiled(c)) {
      // Highway numbers a platform's targets best first: the better ones are
      // the lower bits.
      disabled = c.target - 1;
      return {};
    }
  return {Errc::invalid_argument, std::string(kSimdEnv) + "='" + std::string(value) +
                                      "' is not a SIMD target of this machine's architecture; accepted values: " +
                                      accepted_values()};
}

Status simd_ready() {
  const SimdState& st = state();
  // The first dispatch would choose the target itself, but then every call
  // through a pointer taken before it would choose again (reading CPUID);
  // choosing here lets an op take its kernel's pointer once.
  hwy::ChosenTarget& chosen = hwy::GetChosenTarget();
  if (st.status.ok() && !chosen.IsInitialized()) chosen.Update(hwy::SupportedTargets());
  return st.status;
}

std::vector<std::int64_t> simd_target_bits() {
  std::vector<std::int64_t> out;
  for (std::int64_t m = state().usable; m != 0; m &= m - 1) out.push_back(best_of(m));
  return out;
}

std::string simd_target_name(std::int64_t target) { return hwy::TargetName(target); }

void set_simd_target(std::int64_t target) {
  (void)state();
  hwy::SetSupportedTargetsForTest(target);
}

}  // namespace detail

std::string simd_target_name() {
  (void)detail::state();
  return detail::simd_target_name(detail::best_of(hwy::SupportedTargets() & HWY_TARGETS));
}

std::vector<std::string> simd_supported_targets() {
  std::vector<std::string> out;
  for (std::int64_t m = detail::state().supported; m != 0; m &= m - 1)
    out.push_back(detail::simd_target_name(detail::best_of(m)));
  return out;
}

std::string simd_cap() { return detail::state().cap; }

}  // namespace tandem
