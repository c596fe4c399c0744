// The simulated device (host/core/sim_device.cpp): a DeviceBackend on the CPU
// for tests. Nothing outside the test suite configures it, so by default there
// are no sim devices: they never show in `tandem info` and no run picks one.
//
// Model: device memory is 64-byte aligned host memory; a stream is one worker
// thread running its queue in order; a copy is a memcpy on the worker that
// lasts latency + bytes / bandwidth; a launch runs its work on the worker and
// then sleeps (compute_slowdown - 1) x the time the work took. Unlike
// cudaFree, a free outside a StreamAllocScope does not wait for the device:
// code that frees device memory its queued work still uses must hold one
// (the engine's feeder and streaming paths do), so sim also catches a missing
// scope that a real GPU would hide behind cudaFree's synchronisation.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "host/core/device_backend.hpp"

namespace tandem::detail {

struct SimDeviceSpec {
  double h2d_gbps = 25.0;   ///< host -> device copies, 1e9 bytes/s
  double d2h_gbps = 25.0;   ///< device -> host copies
  double d2d_gbps = 500.0;  ///< device -> device copies
  double latency_us = 0.0;  ///< added to every copy
  double compute_slowdown = 1.0;  ///< a launch takes this many times its work's own time
  std::size_t capacity = 0;       ///< bytes of device memory; 0 = unlimited
  int fail_alloc_at = 0;   ///< the Nth device allocation (1-based) fails with out_of_memory; 0 = never
  int fail_launch_at = 0;  ///< the Nth launch (1-based) fails; 0 = never
  bool launch_failure_sticky = false;  ///< that failure is device_lost (poisons the device), else cuda_error
};

/// Replaces the set of sim devices (sim:0 .. sim:N-1) with fresh ones: zeroed
/// counters, empty logs, not poisoned. Streams and memory of the previous set
/// keep working on the device they were made on; an empty vector removes all.
void sim_configure(std::vector<SimDeviceSpec> devices);
[[nodiscard]] int sim_device_count() noexcept;

struct SimStats {
  std::size_t allocated_bytes = 0;  ///< device memory live now
  std::size_t peak_bytes = 0;
  int allocations = 0;  ///< device allocations attempted (failed ones included)
  int launches = 0;     ///< launches queued (failed ones included)
  int copies = 0;       ///< copies performed
  bool lost = false;    ///< poisoned by a sticky failure
};
/// Counters of sim:`device` (all zero for a device that does not exist).
[[nodiscard]] SimStats sim_stats(int device);

enum class SimOp : unsigned char { copy_h2d, copy_d2h, copy_d2d, copy_h2h, launch };
struct SimEvent {
  SimOp op;
  int stream;  ///< sim_stream_id of the stream it ran on, 0 for a synchronous copy
  std::chrono::steady_clock::time_point start, end;
  std::size_t bytes;  ///< copied bytes; 0 for a launch
};
/// Every copy and launch sim:`device` performed, in the order they ended.
[[nodiscard]] std::vector<SimEvent> sim_events(int device);
/// A small number naming a sim stream in the event log (1, 2, ... per process).
[[nodiscard]] int sim_stream_id(void* stream) noexcept;

/// The backend behind Device::sim (backend_for returns it).
DeviceBackend* sim_backend() noexcept;

}  // namespace tandem::detail
