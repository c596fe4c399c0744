// Runs a command line (the built `tandem`, or `taskset`/`mpirun` in front of
// it) and captures its exit status, stdout and stderr.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tandem::test {

struct CommandResult {
  int rc = -1;  ///< exit status; -1 when killed by a signal
  std::string out, err;
};

inline std::string shell_quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// Runs `args` (the first is the program) through the shell, each argument
/// quoted; `env` is prefixed as NAME=value words.
inline CommandResult run_command(const std::vector<std::string>& args, const std::string& env = "") {
  static std::atomic<int> counter{0};
  const std::string stem = ::testing::TempDir() + "/tandem_cmd." + std::to_string(::getpid()) + "." +
                           std::to_string(counter.fetch_add(1));
  std::string cmd = env.empty() ? "" : env + " ";
  for (const auto& a : args) cmd += shell_quote(a) + " ";
  cmd += ">" + shell_quote(stem + ".out") + " 2>" + shell_quote(stem + ".err") + " </dev/null";
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  for (auto [path, dst] : {std::pair{stem + ".out", &r.out}, std::pair{stem + ".err", &r.err}}) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    *dst = s.str();
    std::remove(path.c_str());
  }
  return r;
}

}  // namespace tandem::test
