// Parallel loops of the streaming per-pixel ops (grayscale, threshold, invert,
// equalize, resize): row pieces handed out dynamically over an OpenMP team.
#pragma once

#include <cstdint>

#include <omp.h>

namespace tandem::pointops {

/// Runs fn(slot, piece) for every piece in [0, pieces) on `threads` OpenMP threads;
/// slot in [0, threads) names the thread (for per-thread partial results). Pieces
/// are handed out dynamically, so a thread the OS runs late delays one piece, not
/// a whole static band.
///
/// A caller-participates thread pool (as OpenCV's parallel_for_) was measured
/// faster on shared 2-vCPU VMs, where an OpenMP join can wait a scheduler tick
/// for an unscheduled worker; it is not used because tandem's CPU teams are
/// OpenMP teams bound by the placement plan to their NUMA node's cores, and a
/// separate pool's threads would escape that binding.
template <class F>
void parallel_pieces(int threads, std::int64_t pieces, F&& fn) {
  if (threads <= 1) {
    for (std::int64_t p = 0; p < pieces; ++p) fn(0, p);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::int64_t p = 0; p < pieces; ++p) fn(omp_get_thread_num(), p);
}

}  // namespace tandem::pointops
