// Registration of the tandem subcommands. Each cli/<command>.cpp adds its
// subcommand and sets Commands::run to its action when it is selected.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace tandem::bench {
struct Roof;
}

namespace tandem::cli {

struct Commands {
  /// The selected subcommand's action; returns the process exit code.
  std::function<int()> run = [] { return 0; };
};

void register_commands(CLI::App& app, Commands& commands);

// One per subcommand file.
void add_info_command(CLI::App& app, Commands& commands);
void add_ops_command(CLI::App& app, Commands& commands);
void add_run_command(CLI::App& app, Commands& commands);
void add_bench_command(CLI::App& app, Commands& commands);
void add_summary_command(CLI::App& app, Commands& commands);

/// A library message in the command line's terms: the library names options
/// by their RunOptions field ("the glob patterns", "device = gpu"); the user
/// typed flags (--glob, --device gpu). Control characters are escaped (printable).
std::string in_cli_terms(std::string message);

/// This process's rank when a launcher started it (mpirun, srun: the rank in
/// OMPI_COMM_WORLD_RANK, PMIX_RANK or PMI_RANK), else -1. Read from the
/// environment, so it works before (and without) MPI: ranks above 0 keep
/// usage errors to themselves, rank 0 says them once.
int launcher_rank();

/// Says a usage error (`text`, its lines ending in newlines) and returns 2,
/// the exit code. Under a launcher every rank finds the same error: rank 0
/// says it, and no rank returns before rank 0 has (mpirun ends the job at the
/// first non-zero exit, and would kill rank 0 before it spoke).
int usage_error(std::string_view text);

/// `text` with every control character (file names may hold ESC, newlines)
/// written as a visible escape: \n, \t, \r, \xNN.
std::string printable(std::string_view text);

/// The measured roof as a table on stdout (`tandem bench --roof`, `tandem info --measure`).
void print_roof(const bench::Roof& roof);

}  // namespace tandem::cli
