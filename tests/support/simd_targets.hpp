// Runs a test body once per SIMD target this CPU supports, so every vector
// path (AVX-512, AVX2, SSE4, scalar; NEON, SVE on Arm) is checked against the
// same references on one machine.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "host/core/simd.hpp"
#include "tandem/device.hpp"
#include "tests/support/test_support.hpp"

namespace tandem::test {

/// Calls fn() once per target of detail::simd_target_bits() (best first), with
/// the kernels restricted to that target and its name in every failure
/// message; the restriction is lifted afterwards, also when fn throws.
template <class F>
void for_each_simd_target(F&& fn) {
  ASSERT_TRUE(detail::simd_ready().ok()) << detail::simd_ready().message();
  struct Restore {
    ~Restore() { detail::set_simd_target(0); }
  } restore;
  for (const std::int64_t target : detail::simd_target_bits()) {
    detail::set_simd_target(target);
    SCOPED_TRACE("SIMD target " + detail::simd_target_name(target));
    fn();
  }
}

/// for_each_simd_target on the CPU; fn() once on other devices, whose kernels
/// are not the CPU's vector code.
template <class F>
void for_each_simd_target_on(Device device, F&& fn) {
  if (device.is_cpu())
    for_each_simd_target(fn);
  else
    fn();
}

/// for_each_simd_target_on `device`, with a DeviceRunner of it made anew for
/// each target: fn(runner).
template <class F>
void for_each_simd_target_with_runner(Device device, F&& fn) {
  for_each_simd_target_on(device, [&] {
    DeviceRunner runner(device);
    fn(runner);
  });
}

}  // namespace tandem::test
