// tandem: the command-line tool. Each subcommand lives in its own file and
// registers itself on the CLI11 app; this file only sets the conventions:
// data on stdout, messages on stderr, usage errors exit 2 with a hint.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "tandem/config.hpp"
#include "tandem/status.hpp"

int main(int argc, char** argv) {
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
    std::cerr << "tandem: " << e.what() << "\n"
              << "Try '" << where << " --help' for usage.\n";
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
