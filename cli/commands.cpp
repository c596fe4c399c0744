#include "cli/commands.hpp"

#include <cstdlib>
#include <cstring>
#include <utility>

namespace tandem::cli {

void register_commands(CLI::App& app, Commands& commands) {
  add_info_command(app, commands);
  add_run_command(app, commands);
  add_summary_command(app, commands);
  add_ops_command(app, commands);
  add_bench_command(app, commands);
}

int launcher_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"})
    if (const char* v = std::getenv(name); v && *v) return std::atoi(v);
  return -1;
}

std::string in_cli_terms(std::string m) {
  // Library wording -> flag, for every option a library message names.
  static const std::pair<const char*, const char*> kTerms[] = {
      {"(output_dir is empty)", "(-o DIR)"},
      {"a glob pattern", "a --glob pattern"},
      {"the glob patterns", "--glob"},
      {"name the output format", "name it with --format"},
      {"(device = cpu)", "(--device cpu)"},
      {"device = gpu, but", "--device gpu:"},
      {"gpus: no CUDA device", "--gpus: no CUDA device"},
  };
  for (const auto& [lib, cli] : kTerms)
    for (std::size_t at = m.find(lib); at != std::string::npos; at = m.find(lib, at + std::strlen(cli)))
      m.replace(at, std::strlen(lib), cli);
  return m;
}

}  // namespace tandem::cli
