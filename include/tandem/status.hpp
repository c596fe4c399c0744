/// @file status.hpp
/// @brief Status values returned by tandem's core, and the exception used at the C++ façade.
///
/// Code that runs on worker threads or next to CUDA calls returns a Status
/// instead of throwing; the public convenience wrappers and the CLI turn a
/// failed Status into tandem::Error.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief What went wrong, coarsely; the message says exactly.
enum class Errc {
  ok = 0,
  invalid_argument,  ///< a parameter, shape or dtype the op does not accept
  unsupported,       ///< valid, but not supported by this build or device
  out_of_memory,     ///< host or device allocation failed
  io_error,          ///< reading or writing a file failed
  format_error,      ///< a file's contents are corrupt or not the expected format
  cuda_error,        ///< the CUDA runtime or a CUDA library reported an error
  device_lost,       ///< a sticky device error: the device is unusable until the process ends
  no_device,         ///< the requested device does not exist or is unusable
  cancelled,         ///< the work was stopped on request
  internal,          ///< a bug in tandem
};

/// @brief Short lower-case name of an error code ("invalid_argument", ...).
const char* errc_name(Errc code) noexcept;

/// @brief Success, or an error code with a message naming the cause.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status success() { return {}; }
  [[nodiscard]] bool ok() const noexcept { return code_ == Errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] Errc code() const noexcept { return code_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }

  /// @brief The same error with `context` prepended ("reading a.png: ...").
  [[nodiscard]] Status with_context(std::string_view context) const;

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

/// @brief Exception thrown by the throwing C++ façade (never from worker threads).
class Error : public std::runtime_error {
 public:
  explicit Error(const Status& status) : std::runtime_error(status.message()), code_(status.code()) {}
  [[nodiscard]] Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

/// @brief Throws tandem::Error when `status` is not ok.
inline void throw_if_error(const Status& status) {
  if (!status.ok()) throw Error(status);
}

}  // namespace tandem

/// Returns the Status of `expr` from the enclosing function when it is an error.
#define TANDEM_TRY(expr)                                  \
  do {                                                    \
    ::tandem::Status tandem_try_status_ = (expr);         \
    if (!tandem_try_status_.ok()) return tandem_try_status_; \
  } while (0)

#pragma GCC visibility pop
