// Runs an op test body on every SIMD target when the device is the CPU (each vector path
// against the same reference), once on other devices.
#pragma once

#include "tandem/device.hpp"
#include "tests/support/simd_targets.hpp"

namespace tandem::test {

template <class F>
void for_each_cpu_target(const Device& device, F&& fn) {
  if (device.is_cpu()) for_each_simd_target(fn);
  else fn();
}

}  // namespace tandem::test
