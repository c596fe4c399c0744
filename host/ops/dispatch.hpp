// The one place an op is sent to its device. Each op's typed entry point makes
// its checks, then calls on_device() with its CPU implementation and its CUDA
// launch; nothing else in host/ops tests for CUDA.
//   cpu  -> cpu(src, dst, p, exec)
//   cuda -> cuda(exec.stream), only in a CUDA build (else `unsupported`)
//   sim  -> the CPU implementation queued on the simulated device's stream,
//           over its (host-addressable) memory, with one thread
#pragma once

#include <string>
#include <string_view>

#include "host/core/device_backend.hpp"
#include "tandem/config.hpp"
#include "tandem/device.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

namespace tandem::detail {

inline Status no_cuda(std::string_view op, const Exec& exec) {
  return {Errc::unsupported, std::string(op) + " on " + exec.device.str() + ": this tandem was built without CUDA (" +
                                 cuda_status() + ")"};
}

inline DeviceBackend* sim_backend(std::string_view op, const Exec& exec, Status& why) {
  DeviceBackend* b = backend_for(exec.device);
  if (!b) why = {Errc::no_device, std::string(op) + ": no backend for " + exec.device.str() + " in this tandem"};
  return b;
}

/// Runs an op on exec.device. `cpu` must not keep references to its caller's
/// objects: on a sim device it runs later, on copies of src, dst and p.
/// `cuda` is a generic lambda ([&](auto stream) { ... }) so that a build
/// without CUDA never compiles its body.
template <class P, class Cuda>
Status on_device(std::string_view op, const View& src, const View& dst, const P& p, const Exec& exec,
                 Status (*cpu)(const View&, const View&, const P&, const Exec&), Cuda&& cuda) {
  switch (exec.device.kind) {
    case Device::Kind::cpu:
      return cpu(src, dst, p, exec);
    case Device::Kind::cuda:
      if constexpr (TANDEM_WITH_CUDA) return cuda(exec.stream);
      else return no_cuda(op, exec);
    case Device::Kind::sim: {
      Status why;
      DeviceBackend* b = sim_backend(op, exec, why);
      if (!b) return why;
      return b->launch(exec.stream, [cpu, src, dst, p] { return cpu(src, dst, p, Exec::cpu(1)); });
    }
  }
  return {Errc::internal, std::string(op) + ": unknown device kind"};
}

/// Waits for the work queued on exec.stream (a no-op on the CPU), for the
/// few ops that read a device result back on the host.
inline Status wait_for(std::string_view op, const Exec& exec) {
  if (exec.device.is_cpu()) return {};
  DeviceBackend* b = backend_for(exec.device);
  if (!b) return exec.device.is_cuda() ? no_cuda(op, exec) : Status{Errc::no_device, std::string(op) + ": no backend for " + exec.device.str()};
  return b->stream_synchronize(exec.stream).with_context(op);
}

}  // namespace tandem::detail
