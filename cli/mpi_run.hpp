// `mpirun -n N tandem run ...`: every rank runs the normal engine on the items
// rank 0 hands out in byte-weighted chunks (cli/mpi_run.cpp, built with MPI).
// Rank 0 prints the merged summary, draws the one progress bar and writes the
// one trace; every rank exits with the same code.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "tandem/engine.hpp"

namespace tandem::cli {

/// What `tandem run` prints, given to the rank that prints it.
struct RankOutput {
  bool json = false;   ///< the merged JSON summary on stdout
  bool quiet = false;  ///< no summary on stderr
  /// This rank's summary as `tandem run --json` writes it.
  std::function<std::string(const RunSummary&)> summary_json;
  /// Draws the progress bar (rank 0 only), with every rank's items counted.
  std::function<void(const Progress&)> progress;
};

/// Runs the batch as one rank of an MPI job (MPI_Init here, MPI_Finalize
/// before returning) and returns the exit code, the same on every rank: 0,
/// 1 when items failed or a rank could not run, 2 for a usage error.
int run_as_rank(const Pipeline& pipeline, RunOptions options, const RankOutput& output);

/// An error every rank found alone (a usage error, before any rank ran):
/// rank 0 writes `text` to stderr, every rank waits at a barrier until it
/// has, and each returns `rc` (MPI_Init and MPI_Finalize here).
int say_once_as_rank(std::string_view text, int rc);

}  // namespace tandem::cli
