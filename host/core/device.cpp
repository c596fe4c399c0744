#include "tandem/device.hpp"

#include <utility>

#include "tandem/config.hpp"
#if TANDEM_WITH_CUDA
#include "kernels/runtime.hpp"
#endif

namespace tandem {

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

Stream::~Stream() {
#if TANDEM_WITH_CUDA
  cuda::stream_destroy(handle_);
#endif
}

Stream::Stream(Stream&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), device_(std::exchange(other.device_, -1)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    Stream tmp(std::move(*this));
    handle_ = std::exchange(other.handle_, nullptr);
    device_ = std::exchange(other.device_, -1);
  }
  return *this;
}

Status Stream::create(int ordinal, Stream& out) {
#if TANDEM_WITH_CUDA
  void* s = nullptr;
  TANDEM_TRY(cuda::stream_create(ordinal, &s));
  Stream made;
  made.handle_ = s;
  made.device_ = ordinal;
  out = std::move(made);
  return {};
#else
  return {Errc::unsupported, cuda_status()};
#endif
}

Status Stream::synchronize() const {
#if TANDEM_WITH_CUDA
  if (!handle_) return {};
  return cuda::stream_synchronize(handle_);
#else
  return {};
#endif
}

}  // namespace tandem
