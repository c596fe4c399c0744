// Admission: the byte budget (--io-memory) that bounds what the items in
// flight hold. The reader asks before it reads an item; the item's charge is
// given back when it has been written (or has failed).
#pragma once

#include <atomic>
#include <cstddef>

#include "host/engine/queue.hpp"

namespace tandem::engine {

/// The budget when the run names none: 1/8 of RAM, 64 MiB to 4 GiB.
std::size_t default_io_memory();

class Admission {
 public:
  explicit Admission(std::size_t limit) : budget_(limit ? limit : default_io_memory()) {}

  /// Bytes an item may occupy at its peak, guessed from its file before
  /// decoding: compressed images expand; the ratio learns from what decoding shows.
  [[nodiscard]] std::size_t estimate(std::size_t file_bytes, bool compressed) const {
    const double r = compressed ? ratio_.load() : 2.5;
    return static_cast<std::size_t>(static_cast<double>(file_bytes) * r) + 4096;
  }
  /// What decoding showed: `peak_bytes` for a file of `file_bytes`.
  void learn(std::size_t file_bytes, std::size_t peak_bytes) {
    if (file_bytes == 0) return;
    const double r = static_cast<double>(peak_bytes) / static_cast<double>(file_bytes);
    double cur = ratio_.load();
    while (r > cur && !ratio_.compare_exchange_weak(cur, r)) {
    }
  }
  /// Waits until `bytes` fit (an item larger than the budget is admitted
  /// alone); false when cancelled meanwhile.
  bool acquire(std::size_t bytes) { return budget_.acquire(bytes); }
  void release(std::size_t bytes) { budget_.release(bytes); }
  void cancel() { budget_.cancel(); }

  [[nodiscard]] std::size_t limit() const { return budget_.limit(); }
  [[nodiscard]] std::size_t peak() const { return budget_.peak(); }

 private:
  MemoryBudget budget_;
  std::atomic<double> ratio_{8.0};
};

}  // namespace tandem::engine
