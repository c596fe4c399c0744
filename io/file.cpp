// Whole-file reads and atomic writes (temporary in the same directory + rename).
#include "tandem/io/file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "io/codecs.hpp"

namespace tandem::io {

namespace {

// strerror_r comes in a GNU flavour (returns char*) and a POSIX one (returns int).
[[maybe_unused]] const char* strerror_result(int /*rc*/, const char* buf) { return buf; }
[[maybe_unused]] const char* strerror_result(const char* msg, const char* /*buf*/) { return msg; }

constexpr std::string_view kTempTag = ".tandem-tmp-";

using detail::quoted;

Status sys_error(const char* what, const std::string& path, int err) {
  return {Errc::io_error, std::string(what) + " " + quoted(path) + ": " + errno_message(err)};
}

std::pair<std::string, std::string> split_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

Status write_all(int fd, const void* data, std::size_t size, std::uint64_t offset, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const std::size_t chunk = std::min<std::size_t>(size, std::size_t(1) << 30);
    const ssize_t n = ::pwrite(fd, p, chunk, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("cannot write", path, errno);
    }
    if (n == 0) return {Errc::io_error, "cannot write " + quoted(path) + ": no progress (disk full?)"};
    p += n;
    size -= std::size_t(n);
    offset += std::uint64_t(n);
  }
  return {};
}

Status fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems cannot fsync a directory; that is not worth failing the write for.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) return sys_error("cannot fsync directory", dir, err);
  return {};
}

}  // namespace

std::string errno_message(int err) {
  char buf[256];
  buf[0] = '\0';
  return strerror_result(::strerror_r(err, buf, sizeof buf), buf);
}

namespace {
const char* file_type_name(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}
}  // namespace

Status open_regular_file(const std::string& path, int& fd, std::uint64_t& size) {
  fd = -1;
  // O_NONBLOCK: opening a FIFO without a writer would wait forever.
  const int f = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (f < 0) return sys_error("cannot open", path, errno);
  struct stat st {};
  if (::fstat(f, &st) != 0) {
    const int err = errno;
    ::close(f);
    return sys_error("cannot stat", path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(f);
    return {Errc::io_error, "cannot read " + quoted(path) + ": it is " + file_type_name(st.st_mode) +
                                ", not a regular file"};
  }
  const int flags = ::fcntl(f, F_GETFL);
  if (flags >= 0) (void)::fcntl(f, F_SETFL, flags & ~O_NONBLOCK);
  fd = f;
  size = std::uint64_t(st.st_size);
  return {};
}

Status read_file(const std::string& path, std::vector<std::byte>& out) {
  out.clear();
  int fd = -1;
  std::uint64_t file_size = 0;
  TANDEM_TRY(open_regular_file(path, fd, file_size));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  // Read in one go; a file that grows meanwhile is read to its end.
  std::size_t capacity = std::size_t(file_size) + 1;
  std::size_t used = 0;
  try {
    out.resize(capacity);
    for (;;) {
      if (used == out.size()) out.resize(out.size() * 2);
      const ssize_t n = ::read(fd, out.data() + used, out.size() - used);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        out.clear();
        return sys_error("cannot read", path, err);
      }
      if (n == 0) break;
      used += std::size_t(n);
    }
    out.resize(used);
  } catch (const std::bad_alloc&) {
    out.clear();
    out.shrink_to_fit();
    return {Errc::out_of_memory, "cannot read " + quoted(path) + ": out of memory for " +
                                     std::to_string(capacity) + " bytes"};
  }
  return {};
}

std::string temporary_path_for(const std::string& path) {
  static std::atomic<std::uint64_t> counter{0};
  auto [dir, name] = split_dir(path);
  std::string tmp = "." + name + std::string(kTempTag) + std::to_string(::getpid()) + "-" +
                    std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? tmp : path.substr(0, slash + 1) + tmp;
}

namespace {
// Parses ".NAME.tandem-tmp-PID-N"; returns the PID (> 0) or 0 when it is not one.
long temporary_pid(std::string_view name) noexcept {
  if (name.size() < 2 || name[0] != '.') return 0;
  const auto tag = name.rfind(kTempTag);
  if (tag == std::string_view::npos || tag < 1) return 0;
  std::string_view rest = name.substr(tag + kTempTag.size());
  const auto dash = rest.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == rest.size()) return 0;
  long pid = 0;
  for (std::size_t i = 0; i < dash; ++i) {
    if (rest[i] < '0' || rest[i] > '9' || pid > 100000000) return 0;
    pid = pid * 10 + (rest[i] - '0');
  }
  for (std::size_t i = dash + 1; i < rest.size(); ++i)
    if (rest[i] < '0' || rest[i] > '9') return 0;
  return pid;
}
}  // namespace

bool is_temporary_name(std::string_view file_name) noexcept { return temporary_pid(file_name) > 0; }

Status remove_stale_temporaries(const std::string& directory, std::int64_t& removed, bool all, bool recursive) {
  removed = 0;
  DIR* d = ::opendir(directory.c_str());
  if (!d) return sys_error("cannot list directory", directory, errno);
  Status status;
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const long pid = temporary_pid(e->d_name);
    bool is_dir = e->d_type == DT_DIR;
    if (recursive && pid <= 0 && e->d_type == DT_UNKNOWN) {
      struct stat st {};
      is_dir = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (recursive && pid <= 0 && is_dir && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      std::int64_t below = 0;
      const Status s = remove_stale_temporaries(directory + "/" + e->d_name, below, all, true);
      removed += below;
      if (!s.ok() && status.ok()) status = s;
      continue;
    }
    if (pid <= 0) continue;
    if (!all && (pid == ::getpid() || ::kill(pid_t(pid), 0) == 0 || errno != ESRCH)) continue;
    const std::string full = directory + "/" + e->d_name;
    if (::unlink(full.c_str()) == 0) {
      ++removed;
    } else if (errno != ENOENT && status.ok()) {
      status = sys_error("cannot remove stale temporary", full, errno);
    }
  }
  ::closedir(d);
  return status;
}

// ---------------------------------------------------------------------------

Status AtomicFile::open(const std::string& path, const AtomicWriteOptions& options) {
  abort();
  if (path.empty()) return {Errc::invalid_argument, "cannot write a file with an empty name"};
  if (path.back() == '/') return sys_error("cannot write", path, EISDIR);
  std::string temp = temporary_path_for(path);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(options.mode));
  if (fd < 0) {
    const int err = errno;
    return sys_error("cannot create", err == ENOENT ? split_dir(path).first : temp, err)
        .with_context("writing " + quoted(path));
  }
  f_->fd = fd;
  f_->size = 0;
  f_->path = path;
  f_->temp = std::move(temp);
  f_->options = options;
  return {};
}

Status AtomicFile::write(const void* data, std::size_t size) {
  if (f_->fd < 0) return {Errc::invalid_argument, "AtomicFile::write: no file is open"};
  TANDEM_TRY(write_all(f_->fd, data, size, f_->size, f_->path));
  f_->size += size;
  return {};
}

Status AtomicFile::write_at(std::uint64_t offset, const void* data, std::size_t size) {
  if (f_->fd < 0) return {Errc::invalid_argument, "AtomicFile::write_at: no file is open"};
  return write_all(f_->fd, data, size, offset, f_->path);
}

Status AtomicFile::commit() {
  if (f_->fd < 0) return {Errc::invalid_argument, "AtomicFile::commit: no file is open"};
  Status st;
  if (f_->options.fsync && ::fsync(f_->fd) != 0) st = sys_error("cannot fsync", f_->path, errno);
  if (::close(std::exchange(f_->fd, -1)) != 0 && st.ok()) st = sys_error("cannot close", f_->path, errno);
  if (st.ok() && ::rename(f_->temp.c_str(), f_->path.c_str()) != 0) st = sys_error("cannot rename temporary onto", f_->path, errno);
  if (!st.ok()) {
    ::unlink(f_->temp.c_str());
    return st;
  }
  f_->temp.clear();
  if (f_->options.fsync) TANDEM_TRY(fsync_directory(split_dir(f_->path).first));
  return {};
}

void AtomicFile::Abort::operator()(State& f) const noexcept {
  if (f.fd >= 0) {
    ::close(f.fd);
    f.fd = -1;
    ::unlink(f.temp.c_str());
  }
  f.temp.clear();
  f.size = 0;
}

void AtomicFile::abort() noexcept { Abort{}(*f_); }

Status write_file_atomic(const std::string& path, std::span<const std::byte> bytes,
                         const AtomicWriteOptions& options) {
  AtomicFile f;
  TANDEM_TRY(f.open(path, options));
  TANDEM_TRY(f.write(bytes.data(), bytes.size()));
  return f.commit();
}

}  // namespace tandem::io
