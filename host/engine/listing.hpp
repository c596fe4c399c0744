// Input listing: the run's paths and directories (recursed, --glob), the
// pages of multi-page TIFFs, each item's output path and format, the safety
// checks on those paths, and --resume. Everything is decided before the first
// byte is read, once per run (on one process of a shared run).
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
  std::size_t listed = 0;         ///< items in all (each page of a multi-page TIFF is one)
  std::vector<std::string> notices;
};

/// Lists the inputs of `opts` for `pipeline`, writing under `outdir` (which
/// exists), as one byte string: every item in listing order (its input and,
/// for a multi-page TIFF, its page; its output path and format; its bytes; its
/// refusal, or --resume finding its output) and the notices. This is what
/// walks the filesystem; a run shared by several processes makes it on one
/// of them and hands the bytes to the others (WorkShare::listing). An error
/// only when there is nothing to run at all.
Status make_listing(const Pipeline& pipeline, const RunOptions& opts, const std::string& outdir, std::string& bytes);

/// The items of a listing made by make_listing, by what happens to them;
/// touches no file. `stream_above`: .npy inputs larger than this stream when
/// the pipeline allows it.
Status read_listing(const Pipeline& pipeline, const std::string& bytes, std::size_t stream_above, Listing& out);

}  // namespace tandem::engine
