// A small fork-join pool for the streaming per-pixel ops, shaped like OpenCV's
// parallel_for_: the caller works too, helpers take pieces from a shared counter,
// and the caller returns once every piece is done -- it never waits for a helper
// that has not started yet.
//
// Why not `#pragma omp parallel for`: an OpenMP region ends in a join that every
// team thread must reach. On a machine whose cores are shared (CI, VMs) a worker
// the OS has not scheduled yet holds the whole op up by a scheduler tick (4 ms
// here), longer than a memory-bound pass over a 16 MB image takes; measured,
// two OpenMP threads ran grayscale 1.3 to 2x slower than one. Here a late helper
// finds no pieces left and goes back to sleep.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include <omp.h>

namespace tandem::pointops {

class StripPool {
 public:
  /// The process-wide pool (leaked on purpose: helpers sleep on it until exit).
  static StripPool& instance() {
    static StripPool* pool = new StripPool;
    return *pool;
  }

  /// Runs fn(slot, piece) for every piece in [0, pieces) on the calling thread (slot 0)
  /// and up to `helpers` pool threads (slots 1..helpers), each piece once. Returns false
  /// without running anything when the pool is serving another caller, so the caller
  /// can fall back to its own loop.
  template <class F>
  bool run(int helpers, std::int64_t pieces, F& fn) {
    Job job;
    job.call = [](void* ctx, int slot, std::int64_t piece) { (*static_cast<F*>(ctx))(slot, piece); };
    job.ctx = &fn;
    job.pieces = pieces;
    job.max_helpers = helpers;
    {
      std::unique_lock lk(mu_, std::try_to_lock);
      if (!lk.owns_lock() || job_) return false;
      try {
        while (spawned_ < helpers) {
          std::thread([this] { helper_loop(); }).detach();
          ++spawned_;
        }
      } catch (...) {  // no more threads: run with the ones there are
        job.max_helpers = spawned_;
      }
      job_ = &job;
      ++generation_;
    }
    wake_.notify_all();
    work(job, 0);
    std::unique_lock lk(mu_);
    job_ = nullptr;  // nobody else joins; wait for those that did (they finish claimed pieces)
    done_.wait(lk, [&] { return job.active == 0; });
    return true;
  }

 private:
  struct Job {
    void (*call)(void*, int, std::int64_t) = nullptr;
    void* ctx = nullptr;
    std::int64_t pieces = 0;
    std::atomic<std::int64_t> next{0};
    int max_helpers = 0;
    int joined = 0;  // guarded by mu_
    int active = 0;  // guarded by mu_
  };

  static void work(Job& job, int slot) {
    for (std::int64_t p = job.next.fetch_add(1, std::memory_order_relaxed); p < job.pieces;
         p = job.next.fetch_add(1, std::memory_order_relaxed))
      job.call(job.ctx, slot, p);
  }

  void helper_loop() {
    std::unique_lock lk(mu_);
    std::uint64_t seen = 0;
    for (;;) {
      wake_.wait(lk, [&] {
        return job_ && generation_ != seen && job_->joined < job_->max_helpers &&
               job_->next.load(std::memory_order_relaxed) < job_->pieces;
      });
      seen = generation_;
      Job* job = job_;
      const int slot = ++job->joined;
      ++job->active;
      lk.unlock();
      work(*job, slot);
      lk.lock();
      if (--job->active == 0) done_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;  // a job was posted
  std::condition_variable done_;  // a helper left a job
  Job* job_ = nullptr;            // the job being served, if any
  std::uint64_t generation_ = 0;  // jobs posted so far
  int spawned_ = 0;
};

/// Runs fn(slot, piece) for every piece in [0, pieces) on `threads` threads; slot in
/// [0, threads) names the thread (for per-thread partial results). Uses the StripPool
/// (the caller never waits for a helper that has not started: see strip_pool.hpp); inside
/// an OpenMP region, or while the pool serves another caller, an OpenMP loop instead.
template <class F>
void parallel_pieces(int threads, std::int64_t pieces, F&& fn) {
  if (threads <= 1) {
    for (std::int64_t p = 0; p < pieces; ++p) fn(0, p);
    return;
  }
  if (!omp_in_parallel() && StripPool::instance().run(threads - 1, pieces, fn)) return;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::int64_t p = 0; p < pieces; ++p) fn(omp_get_thread_num(), p);
}

}  // namespace tandem::pointops
