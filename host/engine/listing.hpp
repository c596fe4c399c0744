// Input listing: the run's paths and directories (recursed, --glob), each
// input's output path and format, the safety checks on those paths, and
// --resume. Everything is decided before the first byte is read.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "host/engine/context.hpp"

namespace tandem::engine {

struct Listing {
  std::vector<ItemPtr> todo;      ///< to read, decode, compute and write
  std::vector<ItemPtr> streamed;  ///< .npy files too large for the budget: streamed in chunks
  std::vector<ItemPtr> refused;   ///< failed before reading (status set), e.g. an output collision
  std::vector<ItemPtr> skipped;   ///< --resume found their output
  std::size_t listed = 0;         ///< inputs found in all
  std::vector<std::string> notices;
};

/// Lists the inputs of `opts` for `pipeline`, writing under `outdir` (which
/// exists). `stream_above`: .npy inputs larger than this stream when the
/// pipeline allows it. An error only when there is nothing to run at all.
Status list_items(const Pipeline& pipeline, const RunOptions& opts, const std::string& outdir,
                  std::size_t stream_above, Listing& out);

}  // namespace tandem::engine
