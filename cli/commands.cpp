#include "cli/commands.hpp"

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <utility>

#if TANDEM_WITH_MPI
#include "cli/mpi_run.hpp"
#endif

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

int usage_error(std::string_view text) {
  const int rank = launcher_rank();
#if TANDEM_WITH_MPI
  if (rank >= 0) return say_once_as_rank(text, 2);
#endif
  if (rank <= 0) std::cerr << text << std::flush;
  return 2;
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
      {"DecodeOptions::max_pixels", "--max-pixels"},
      {"(RunOptions::io_memory)", "(--io-memory)"},
      {"(RunOptions::trace_path)", "(--trace)"},
  };
  for (const auto& [lib, cli] : kTerms)
    for (std::size_t at = m.find(lib); at != std::string::npos; at = m.find(lib, at + std::strlen(cli)))
      m.replace(at, std::strlen(lib), cli);
  return printable(m);
}

std::string printable(std::string_view text) {
  // Control characters in a file name would reach the terminal (escape
  // sequences, fake lines): each becomes a visible escape.
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out += ch;
      continue;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace tandem::cli
