#include "host/platform/xml_probe.hpp"

#include <fcntl.h>
#include <hwloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tandem::detail {

namespace {

constexpr int kLoaded = 0, kRefused = 3;

// The child: hwloc only, then _exit (no atexit handlers, no leak check of a
// parent's heap it merely inherited).
[[noreturn]] void load_in_child(const std::string& xml) {
  const int devnull = ::open("/dev/null", O_WRONLY);
  if (devnull >= 0) {
    ::dup2(devnull, STDERR_FILENO);  // hwloc's and a sanitizer's words about the file
    ::dup2(devnull, STDOUT_FILENO);
  }
  hwloc_topology_t t = nullptr;
  if (hwloc_topology_init(&t) != 0) ::_exit(kRefused);
  hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_ALL);
  hwloc_topology_set_icache_types_filter(t, HWLOC_TYPE_FILTER_KEEP_ALL);
  const bool ok = hwloc_topology_set_xmlbuffer(t, xml.data(), int(xml.size())) == 0 && hwloc_topology_load(t) == 0;
  ::_exit(ok ? kLoaded : kRefused);
}

}  // namespace

Status probe_hwloc_xml(const std::string& xml, const std::string& origin, int timeout_ms) {
  if (xml.size() > std::size_t(INT32_MAX))
    return {Errc::format_error, "topology file " + origin + " is too large for hwloc (" + std::to_string(xml.size()) + " bytes)"};
  const pid_t pid = ::fork();
  if (pid < 0) return {Errc::internal, "cannot start a process to check topology file " + origin + ": " + std::strerror(errno)};
  if (pid == 0) load_in_child(xml);
  int status = 0;
  for (int waited_ms = 0;; waited_ms += 5) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return {Errc::internal, "lost the process checking topology file " + origin};
    if (waited_ms >= timeout_ms) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return {Errc::format_error, "topology file " + origin + ": hwloc did not finish loading it in " +
                                      std::to_string(timeout_ms / 1000) + " s"};
    }
    const timespec pause{0, 5'000'000};
    ::nanosleep(&pause, nullptr);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kLoaded) return {};
  const std::string how = WIFSIGNALED(status) ? std::string("crashes hwloc (signal ") + std::to_string(WTERMSIG(status)) + ")"
                          : WEXITSTATUS(status) == kRefused ? std::string("is refused by hwloc")
                                                            : std::string("crashes hwloc");
  return {Errc::format_error, "topology file " + origin + " is not a valid hwloc XML topology: it " + how +
                                  " (make one with 'lstopo --of xml FILE' and check it with 'lstopo-no-graphics --input FILE')"};
}

}  // namespace tandem::detail
