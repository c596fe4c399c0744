// The read side of the async I/O stage: whole-file reads kept in flight ahead
// of the decoders, through io_uring when the kernel allows it, else a small
// pool of pread threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tandem/status.hpp"

namespace tandem::io {

/// One file to read; `bytes` is filled on success.
struct ReadRequest {
  std::size_t id = 0;
  std::string path;
  std::vector<std::byte> bytes;
  Status status;
};

/// Reads files asynchronously. submit() may block while `depth` reads are in
/// flight; completions arrive through the callback given to the constructor,
/// in completion order, on the reader's own thread(s).
class FileReader {
 public:
  using Done = std::function<void(ReadRequest&&)>;
  virtual ~FileReader() = default;
  /// Queues a read; `size_hint` (from stat) sizes the buffer.
  virtual void submit(ReadRequest request, std::size_t size_hint) = 0;
  /// Waits for every submitted read to complete.
  virtual void drain() = 0;
  /// "io_uring" or "pread".
  [[nodiscard]] virtual const char* backend() const noexcept = 0;

  /// io_uring with `depth` reads in flight when `prefer_uring` and the kernel
  /// supports it, else `threads` pread threads. `why_not_uring` gets the reason
  /// io_uring was not used (empty when it was).
  static std::unique_ptr<FileReader> create(Done done, unsigned depth, unsigned threads, bool prefer_uring,
                                            std::string* why_not_uring = nullptr);
};

}  // namespace tandem::io
