#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "tandem/device.hpp"

namespace tandem::cli {

void add_info_command(CLI::App& app, Commands& commands) {
  auto* cmd = app.add_subcommand("info", "Report this machine's CPUs and GPUs");
  cmd->callback([&commands] {
    commands.run = [] {
      std::cout << "gpus: " << cuda_status() << "\n";
      return 0;
    };
  });
}

}  // namespace tandem::cli
