#include "tandem/device.hpp"

#include <utility>

#include "host/core/device_backend.hpp"
#include "host/core/sim_device.hpp"
#include "tandem/config.hpp"
#if TANDEM_WITH_CUDA
#include "kernels/runtime.hpp"
#endif

namespace tandem {

detail::DeviceBackend* detail::backend_for(Device device) noexcept {
  switch (device.kind) {
    case Device::Kind::cuda:
#if TANDEM_WITH_CUDA
      return cuda::backend();
#else
      return nullptr;
#endif
    case Device::Kind::sim: return sim_backend();
    case Device::Kind::cpu: break;
  }
  return nullptr;
}

std::string Device::str() const {
  if (is_cpu()) return "cpu";
  return (is_sim() ? "sim:" : "cuda:") + std::to_string(index);
}

bool cuda_compiled() noexcept { return TANDEM_WITH_CUDA != 0; }

int cuda_device_count() noexcept {
#if TANDEM_WITH_CUDA
  static const int count = cuda::device_count(nullptr);
  return count;
#else
  return 0;
#endif
}

std::string cuda_status() {
#if TANDEM_WITH_CUDA
  std::string reason;
  const int n = cuda::device_count(&reason);
  if (n == 0) return reason;
  return std::to_string(n) + (n == 1 ? " CUDA device available" : " CUDA devices available");
#else
  return "tandem was built without CUDA (TANDEM_CUDA=OFF or no nvcc at build time)";
#endif
}

void Stream::Destroy::operator()(State& s) const noexcept {
  if (s.handle)
    if (detail::DeviceBackend* be = detail::backend_for(s.device)) be->stream_destroy(s.handle);
}

Status Stream::create(int ordinal, Stream& out) { return create(Device::cuda(ordinal), out); }

Status Stream::create(Device device, Stream& out) {
  if (device.is_cpu()) return {Errc::invalid_argument, "a stream needs a device; the CPU has none"};
  detail::DeviceBackend* be = detail::backend_for(device);
  if (!be) return {Errc::unsupported, "cannot create a stream on " + device.str() + ": " + cuda_status()};
  void* s = nullptr;
  TANDEM_TRY(be->stream_create(device.index, &s));
  Stream made;
  made.s_->handle = s;
  made.s_->device = device;
  out = std::move(made);
  return {};
}

Status Stream::synchronize() const {
  if (!s_->handle) return {};
  detail::DeviceBackend* be = detail::backend_for(s_->device);
  return be ? be->stream_synchronize(s_->handle) : Status{};
}

}  // namespace tandem
