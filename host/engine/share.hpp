// Which items of the listing this process runs: all of them, a static
// byte-balanced shard (--shard K/N, RunOptions::shard_*), or the chunks a
// WorkShare hands out (tandem's MPI layer). The engine admits what next()
// gives, so one loop serves every case.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "host/engine/listing.hpp"

namespace tandem::engine {

/// The shard (0 .. n-1) of each item, balancing bytes: largest item first,
/// each to the shard with the fewest bytes so far (the lowest on ties), so
/// no shard exceeds the mean by more than the largest item. Deterministic:
/// every process computes the same assignment from the same listing.
std::vector<int> assign_shards(const std::vector<std::uint64_t>& bytes, int n);

/// Listed items a share handed to this process, by what happens to them.
struct Claim {
  std::vector<ItemPtr> todo, streamed, refused, skipped;
};

class ItemSource {
 public:
  ItemSource(Listing listing, const RunOptions& opts);
  ~ItemSource();
  /// Tells the share the listing's sizes (a WorkShare may refuse).
  Status begin();
  /// The next items this process runs; false when there are none left.
  bool next(Claim& out);
  /// Items this run counts for its progress bar: the shard's for a static
  /// shard, the whole listing's otherwise (a shared run's bar counts all
  /// processes), less those --resume skips.
  [[nodiscard]] std::size_t total() const { return total_; }

 private:
  enum class Kind : unsigned char { todo, streamed, refused, skipped };
  std::vector<std::pair<Kind, ItemPtr>> items_;  // by listing position
  std::unique_ptr<WorkShare> own_;              // everything once, or a static shard
  WorkShare* share_ = nullptr;
  std::size_t total_ = 0;
};

}  // namespace tandem::engine
