// Streaming a .npy larger than memory through an elementwise pipeline (which
// may end in stats or histogram): read -> compute -> write in chunks, with the
// three overlapping on separate threads and memory bounded by the chunk size.
#pragma once

#include <cstddef>
#include <string>

#include "host/engine/trace.hpp"
#include "tandem/engine.hpp"
#include "tandem/io/file.hpp"

namespace tandem {

/// Input bytes per chunk when the budget allows: large enough that a chunk's
/// OpenMP work outweighs its hand-offs, small enough that the chunks in flight
/// stay in the caches (measured in docs/performance.md, "Streaming chunks").
inline constexpr std::size_t kStreamChunkBytes = std::size_t(4) << 20;

struct StreamConfig {
  std::size_t chunk_bytes = kStreamChunkBytes;  ///< input bytes per chunk
  Exec exec;                            ///< CPU (threads) or CUDA (stream)
  Trace* trace = nullptr;
  int trace_track = 0;                  ///< track for the chunk reads
  io::AtomicWriteOptions write;         ///< how the output is written (fsync)
};

/// True when `pipeline` can stream: every stage elementwise, the last maybe a reduction/histogram.
bool can_stream(const Pipeline& pipeline);

/// Streams `input` (.npy, C order) through `pipeline`. Elementwise results go
/// to `output` (.npy, written atomically); a final stats writes nothing and
/// fills info.values; a final histogram writes the counts to `output`.
/// Results are identical to processing the whole array at once.
Status stream_npy(const Pipeline& pipeline, const std::string& input, const std::string& output,
                  const StreamConfig& config, ItemResult& info);

}  // namespace tandem
