#include "tandem/status.hpp"

namespace tandem {

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::unsupported: return "unsupported";
    case Errc::out_of_memory: return "out_of_memory";
    case Errc::io_error: return "io_error";
    case Errc::format_error: return "format_error";
    case Errc::cuda_error: return "cuda_error";
    case Errc::device_lost: return "device_lost";
    case Errc::no_device: return "no_device";
    case Errc::cancelled: return "cancelled";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return {code_, std::move(m)};
}

}  // namespace tandem
