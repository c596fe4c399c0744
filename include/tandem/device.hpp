/// @file device.hpp
/// @brief Devices, CUDA streams and the execution context every op takes.
///
/// The device is picked once (CLI flag, auto-detection) and carried in an
/// Exec; ops dispatch on it, so algorithms never test "if gpu" themselves.
#pragma once

#include <string>

#include "tandem/status.hpp"
#include "tandem/unique.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Where data lives and where an op runs.
struct Device {
  /// `sim` is the simulated device of the test suite (host/core/device_backend.hpp):
  /// it never appears in `tandem info` or among the devices a run picks by itself.
  enum class Kind : unsigned char { cpu, cuda, sim };
  Kind kind = Kind::cpu;
  int index = 0;  ///< CUDA (or sim) device ordinal; 0 for the CPU

  static constexpr Device cpu() noexcept { return {Kind::cpu, 0}; }
  static constexpr Device cuda(int ordinal = 0) noexcept { return {Kind::cuda, ordinal}; }
  static constexpr Device sim(int ordinal = 0) noexcept { return {Kind::sim, ordinal}; }
  [[nodiscard]] constexpr bool is_cpu() const noexcept { return kind == Kind::cpu; }
  [[nodiscard]] constexpr bool is_cuda() const noexcept { return kind == Kind::cuda; }
  [[nodiscard]] constexpr bool is_sim() const noexcept { return kind == Kind::sim; }
  /// @brief "cpu", "cuda:N" or "sim:N".
  [[nodiscard]] std::string str() const;
  friend constexpr bool operator==(Device a, Device b) noexcept {
    return a.kind == b.kind && (a.kind == Kind::cpu || a.index == b.index);
  }
};

/// @brief True when this tandem was compiled with the CUDA backend.
bool cuda_compiled() noexcept;
/// @brief Number of usable CUDA devices; 0 without a CUDA build, a driver or a GPU.
int cuda_device_count() noexcept;
/// @brief Why cuda_device_count() is 0 ("no CUDA-capable device is detected", ...),
///        or "N CUDA device(s) available".
std::string cuda_status();

/// @brief An owned device stream (RAII): a CUDA stream, or a sim stream in tests. Empty on the CPU.
class Stream {
 public:
  /// @brief Creates a non-blocking stream on CUDA device `ordinal`.
  static Status create(int ordinal, Stream& out);
  /// @brief Creates a stream on `device` (CUDA or sim; the CPU has no streams).
  static Status create(Device device, Stream& out);
  /// @brief The cudaStream_t (or sim stream), as an opaque pointer.
  [[nodiscard]] void* handle() const noexcept { return s_->handle; }
  /// @brief The device ordinal, -1 when empty.
  [[nodiscard]] int device() const noexcept { return s_->handle ? s_->device.index : -1; }
  /// @brief The device the stream belongs to (Device::cpu() when empty).
  [[nodiscard]] Device location() const noexcept { return s_->handle ? s_->device : Device::cpu(); }
  /// @brief Waits for all work queued on the stream; reports asynchronous errors.
  Status synchronize() const;

 private:
  struct State {
    void* handle = nullptr;
    Device device = Device::cpu();
  };
  struct Destroy {
    void operator()(State& s) const noexcept;
  };
  Unique<State, Destroy> s_;
};

/// @brief Execution context passed to every op.
///
/// CPU: the op runs an OpenMP parallel region on the calling thread with
/// `threads` threads (0 = the OpenMP default, i.e. the caller's team size).
/// CUDA: work is queued on `stream` (required, never the legacy default
/// stream) and the call returns without waiting; synchronize the stream
/// before reading results on the host.
struct Exec {
  Device device = Device::cpu();
  void* stream = nullptr;  ///< cudaStream_t for Device::Kind::cuda, the sim stream for Device::Kind::sim
  int threads = 0;

  static Exec cpu(int threads = 0) noexcept { return {Device::cpu(), nullptr, threads}; }
  static Exec cuda(const Stream& s) noexcept { return {Device::cuda(s.device()), s.handle(), 0}; }
  /// @brief Work queued on `s`, on whichever device it belongs to (CUDA or sim).
  static Exec on(const Stream& s) noexcept { return {s.location(), s.handle(), 0}; }
};

}  // namespace tandem

#pragma GCC visibility pop
