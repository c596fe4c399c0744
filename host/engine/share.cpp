// Shares of the listing: everything, a static shard, or a WorkShare's chunks.
#include "host/engine/share.hpp"

#include <algorithm>
#include <numeric>

namespace tandem::engine {

std::vector<int> assign_shards(const std::vector<std::uint64_t>& bytes, int n) {
  std::vector<int> shard(bytes.size(), 0);
  if (n <= 1) return shard;
  std::vector<std::size_t> order(bytes.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return bytes[a] > bytes[b]; });
  std::vector<std::uint64_t> load(static_cast<std::size_t>(n), 0);
  std::vector<std::size_t> count(static_cast<std::size_t>(n), 0);
  for (std::size_t i : order) {
    // Fewest bytes first, then fewest items (empty files still spread), then the lowest shard.
    std::size_t best = 0;
    for (std::size_t s = 1; s < load.size(); ++s)
      if (load[s] < load[best] || (load[s] == load[best] && count[s] < count[best])) best = s;
    shard[i] = static_cast<int>(best);
    load[best] += bytes[i];
    ++count[best];
  }
  return shard;
}

namespace {

// Everything this process listed, at once.
class Everything final : public WorkShare {
 public:
  Status begin(const std::vector<std::string>&, const std::vector<std::uint64_t>& bytes) override {
    n_ = bytes.size();
    return {};
  }
  std::vector<std::size_t> next() override {
    std::vector<std::size_t> all(std::exchange(n_, 0));
    std::iota(all.begin(), all.end(), std::size_t{0});
    return all;
  }

 private:
  std::size_t n_ = 0;
};

// The k-th of n byte-balanced shards, at once.
class StaticShard final : public WorkShare {
 public:
  StaticShard(int k, int n) : k_(k), n_(n) {}
  Status begin(const std::vector<std::string>&, const std::vector<std::uint64_t>& bytes) override {
    if (n_ < 1 || k_ < 0 || k_ >= n_)
      return {Errc::invalid_argument, "shard " + std::to_string(k_) + "/" + std::to_string(n_) +
                                          ": the shard index must be 0 to the shard count - 1"};
    const std::vector<int> shard = assign_shards(bytes, n_);
    for (std::size_t i = 0; i < shard.size(); ++i)
      if (shard[i] == k_) mine_.push_back(i);
    return {};
  }
  std::vector<std::size_t> next() override { return std::exchange(mine_, {}); }
  [[nodiscard]] const std::vector<std::size_t>& mine() const { return mine_; }

 private:
  int k_, n_;
  std::vector<std::size_t> mine_;
};

}  // namespace

ItemSource::ItemSource(Listing listing, const RunOptions& opts) {
  items_.resize(listing.listed);
  auto put = [&](std::vector<ItemPtr>& v, Kind kind) {
    for (auto& item : v) {
      const std::size_t i = item->index;
      items_[i] = {kind, std::move(item)};
    }
  };
  put(listing.todo, Kind::todo);
  put(listing.streamed, Kind::streamed);
  put(listing.refused, Kind::refused);
  put(listing.skipped, Kind::skipped);
  if (opts.share) {
    share_ = opts.share;
  } else if (opts.shard_count != 1 || opts.shard_index != 0) {
    own_ = std::make_unique<StaticShard>(opts.shard_index, opts.shard_count);
  } else {
    own_ = std::make_unique<Everything>();
  }
  if (own_) share_ = own_.get();
}

ItemSource::~ItemSource() = default;

Status ItemSource::begin() {
  std::vector<std::uint64_t> bytes(items_.size(), 0);
  std::vector<std::string> inputs(items_.size());
  for (std::size_t i = 0; i < items_.size(); ++i) {
    inputs[i] = items_[i].second->input;
    bytes[i] = items_[i].second->listed_bytes;
  }
  TANDEM_TRY(share_->begin(inputs, bytes));
  total_ = 0;
  auto counts = [&](std::size_t i) { return items_[i].first != Kind::skipped; };
  if (auto* shard = dynamic_cast<StaticShard*>(own_.get())) {
    for (std::size_t i : shard->mine()) total_ += counts(i);
  } else {
    for (std::size_t i = 0; i < items_.size(); ++i) total_ += counts(i);
  }
  return {};
}

bool ItemSource::next(Claim& out) {
  out = Claim{};
  const std::vector<std::size_t> positions = share_->next();
  for (std::size_t i : positions) {
    if (i >= items_.size() || !items_[i].second) continue;  // out of range or handed out twice
    auto& [kind, item] = items_[i];
    switch (kind) {
      case Kind::todo: out.todo.push_back(std::move(item)); break;
      case Kind::streamed: out.streamed.push_back(std::move(item)); break;
      case Kind::refused: out.refused.push_back(std::move(item)); break;
      case Kind::skipped: out.skipped.push_back(std::move(item)); break;
    }
  }
  return !positions.empty();
}

}  // namespace tandem::engine
