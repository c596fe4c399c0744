#include "cli/commands.hpp"

namespace tandem::cli {

void register_commands(CLI::App& app, Commands& commands) {
  add_info_command(app, commands);
  add_run_command(app, commands);
  add_ops_command(app, commands);
  add_bench_command(app, commands);
}

}  // namespace tandem::cli
