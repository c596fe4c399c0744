/// @file file.hpp
/// @brief Whole-file reads and crash-safe (atomic) file output.
///
/// Outputs are written to a temporary name in the destination's directory
/// (".NAME.tandem-tmp-PID-N") and renamed over the final name only when
/// complete, so an interrupted run never leaves a partial file under the
/// final name. Errors name the path and the system's reason (strerror).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.hpp"
#include "tandem/unique.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem::io {

/// @brief Reads the whole of `path` into `out` (replacing its contents).
///        Errc::io_error (missing file, not a regular file, read error) or
///        Errc::out_of_memory; the message names the path and the reason.
Status read_file(const std::string& path, std::vector<std::byte>& out);

/// @brief Opens `path` for reading without ever blocking on it: a FIFO, a
///        device, a socket or a directory is refused (Errc::io_error naming the
///        path and what it is). On success `fd` (to close) and `size` are set.
Status open_regular_file(const std::string& path, int& fd, std::uint64_t& size);

/// @brief Options of atomic writes.
struct AtomicWriteOptions {
  /// fsync the data before the rename and the directory after it, so the file
  /// survives a power loss (slower; a crash of the process alone never needs it).
  bool fsync = false;
  /// Permission bits of the new file (before the umask).
  unsigned mode = 0644;
};

/// @brief Writes `bytes` to `path` atomically: a temporary in the same
///        directory, then rename(2). On failure the temporary is removed and an
///        existing file at `path` is left untouched. Like any rename, this
///        replaces a symlink at `path` (not its target) and gives the file
///        `options.mode`, not the old file's permissions.
Status write_file_atomic(const std::string& path, std::span<const std::byte> bytes,
                         const AtomicWriteOptions& options = {});

/// @brief The temporary name used for `path`: same directory,
///        ".NAME.tandem-tmp-PID-N" with N unique within the process.
std::string temporary_path_for(const std::string& path);

/// @brief True when `file_name` (no directory) looks like one of tandem's temporaries.
bool is_temporary_name(std::string_view file_name) noexcept;

/// @brief Removes tandem's temporaries in `directory` left by processes that
///        are no longer running (the PID in the name is checked with kill(pid, 0));
///        with `all`, removes every tandem temporary whatever its PID. Beware
///        that a PID may have been reused, and that another PID namespace
///        (container) writing to the same directory is not visible: pass
///        `all` only when no other tandem writes there. `removed` counts them.
///        With `recursive`, the subdirectories too (symlinks not followed).
Status remove_stale_temporaries(const std::string& directory, std::int64_t& removed,
                                bool all = false, bool recursive = false);

/// @brief A file being written under a temporary name, renamed into place by
///        commit(); destroyed (or abort()ed) before commit, it removes the
///        temporary. For streaming outputs too large to hold in memory.
class AtomicFile {
 public:
  /// @brief Creates the temporary for `path` (the directory must exist).
  Status open(const std::string& path, const AtomicWriteOptions& options = {});
  /// @brief Appends `size` bytes at the end of what was written so far.
  Status write(const void* data, std::size_t size);
  /// @brief Writes `size` bytes at `offset` (e.g. to patch a header), without moving the end.
  Status write_at(std::uint64_t offset, const void* data, std::size_t size);
  /// @brief Flushes (fsync when asked), closes and renames the temporary to the final path.
  Status commit();
  /// @brief Closes and removes the temporary (no-op when nothing is open).
  void abort() noexcept;

  [[nodiscard]] bool is_open() const noexcept { return f_->fd >= 0; }
  /// @brief Bytes appended so far.
  [[nodiscard]] std::uint64_t size() const noexcept { return f_->size; }
  [[nodiscard]] const std::string& path() const noexcept { return f_->path; }
  [[nodiscard]] const std::string& temporary_path() const noexcept { return f_->temp; }

 private:
  struct State {
    int fd = -1;
    std::uint64_t size = 0;
    std::string path;
    std::string temp;
    AtomicWriteOptions options;
  };
  struct Abort {  ///< closes and removes an uncommitted temporary
    void operator()(State& f) const noexcept;
  };
  Unique<State, Abort> f_;
};

/// @brief "No such file or directory" for an errno value (thread-safe).
std::string errno_message(int err);

}  // namespace tandem::io

#pragma GCC visibility pop
