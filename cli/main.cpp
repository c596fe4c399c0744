// tandem: the command-line tool. Each subcommand lives in its own file and
// registers itself on the CLI11 app; this file only sets the conventions:
// data on stdout, messages on stderr, usage errors exit 2 with a hint.
#include <CLI/CLI.hpp>

#include <limits.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli/commands.hpp"
#include "host/core/simd.hpp"
#include "tandem/config.hpp"
#include "tandem/status.hpp"

namespace {

// The batch engine's codec threads share cores with the OpenMP teams, and
// libgomp's default keeps an idle team thread spinning for ~300k iterations
// after every parallel region, taking those cores from the decoders and
// encoders (a 120-photo batch on 2 cores: 17% less wall time with a short
// spin). libgomp reads its settings when it is loaded, before main, so
// `tandem run` (and `tandem bench --pipeline`, which times it) re-executes
// itself once with GOMP_SPINCOUNT=10000 unless the user chose a wait policy.
void reexec_with_short_omp_spin(int argc, char** argv) {
  if (argc < 2 || std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  bool batch = std::strcmp(argv[1], "run") == 0;
  if (std::strcmp(argv[1], "bench") == 0)
    for (int i = 2; i < argc; ++i) batch = batch || std::strncmp(argv[i], "--pipeline", 10) == 0;
  if (!batch) return;
  if (::setenv("GOMP_SPINCOUNT", "10000", 1) != 0) return;
  // Exec the binary by its own path, not /proc/self/exe: the kernel names a
  // process after the file it executes, and `ps`, `top` and `pgrep -x tandem`
  // should still see "tandem", not "exe".
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    ::execv(self, argv);  // fails when the binary was replaced or deleted meanwhile
  }
  ::execv("/proc/self/exe", argv);
  // exec failed (no /proc?): run as we are; the setting only costs speed.
}

// After an exec through /proc/self/exe the process is called "exe": take the
// name it was started as back.
void keep_process_name(const char* argv0) {
  char comm[32] = {};
  if (::prctl(PR_GET_NAME, comm) != 0 || std::strcmp(comm, "exe") != 0 || !argv0) return;
  const char* base = std::strrchr(argv0, '/');
  ::prctl(PR_SET_NAME, base ? base + 1 : argv0);
}

}  // namespace

int main(int argc, char** argv) {
  reexec_with_short_omp_spin(argc, argv);
  keep_process_name(argv[0]);
  CLI::App app{
      "tandem: push a batch of images or arrays through filters on every CPU core and GPU.\n"
      "Run 'tandem <command> --help' for a command's options and examples."};
  app.name("tandem");
  app.set_version_flag("-V,--version", std::string("tandem ") + TANDEM_VERSION_STRING +
                                           (TANDEM_WITH_CUDA ? " (CUDA " TANDEM_CUDA_ARCHITECTURES ")" : " (CPU only)"));
  app.require_subcommand(1);
  app.fallthrough(false);

  tandem::cli::Commands commands;
  tandem::cli::register_commands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // --help: usage on stdout, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where = "tandem";
    for (const auto* sub : app.get_subcommands()) where += " " + sub->get_name();
    return tandem::cli::usage_error("tandem: " + std::string(e.what()) + "\nTry '" + where + " --help' for usage.\n");
  }
  // A bad TANDEM_SIMD is the user's to fix before anything runs.
  if (const tandem::Status simd = tandem::detail::simd_ready(); !simd.ok()) {
    std::cerr << "tandem: " << simd.message() << "\n";
    return 2;
  }
  try {
    return commands.run();
  } catch (const tandem::Error& e) {
    std::cerr << "tandem: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "tandem: internal error: " << e.what() << "\n";
    return 1;
  }
}
