// The shared work queue that CPU teams and GPU workers pull from, with the
// throughput model steering items between them (dynamic load balance: every
// worker pulls when it is free; the model only decides who may take what).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "host/engine/model.hpp"

namespace tandem {

/// Item must have `bool cpu_only`, `std::size_t input_bytes` and `int node`
/// (the NUMA node its buffers were first touched on, -1 if unknown). Workers
/// prefer items of their own node and take any other rather than idle.
template <class Item>
class WorkQueue {
 public:
  using ItemPtr = std::unique_ptr<Item>;

  WorkQueue(std::size_t capacity, int gpu_workers, bool have_cpu, const ThroughputModel& model)
      : capacity_(capacity), gpu_workers_(gpu_workers), have_cpu_(have_cpu), model_(model) {}

  bool push(ItemPtr item) {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    cv_.notify_all();
    return true;
  }
  // Retries go to the front and may be pushed after close().
  void push_retry(ItemPtr item) {
    std::lock_guard lock(mu_);
    item->cpu_only = true;
    items_.push_front(std::move(item));
    cv_.notify_all();
  }
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
    space_.notify_all();
  }
  void gpu_worker_done() {
    std::lock_guard lock(mu_);
    --gpu_workers_;
    cv_.notify_all();
  }

  // CPU teams take the oldest item of their node, else the oldest of any
  // node; they stop when the queue is closed, empty and no GPU worker can
  // still hand back a retry.
  ItemPtr pop_cpu(int node = -1) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !items_.empty() || (closed_ && gpu_workers_ == 0); });
    if (items_.empty()) return nullptr;
    return take(pick(node, [](const Item&) { return true; }));
  }

  // GPU workers take the oldest item the model does not want on the CPU
  // (tiny images stay on the CPU while CPU teams exist), of their node first.
  ItemPtr pop_gpu(int node = -1) {
    std::vector<ItemPtr> one;
    if (!pop_gpu_batch(one, node, 1, 0)) return nullptr;
    return std::move(one.front());
  }

  // A batch for one GPU round trip: the first item as pop_gpu picks it, then,
  // if it is small (<= kBatchItemBytes), further small items it may take, up to
  // `max_items` and `max_bytes` in all, so one upload, one synchronisation and
  // one download serve them all. False when there is nothing left for GPUs;
  // with `wait` false, also (at once) when nothing can be taken right now.
  bool pop_gpu_batch(std::vector<ItemPtr>& out, int node = -1, std::size_t max_items = kBatchMaxItems,
                     std::size_t max_bytes = kBatchMaxBytes, bool wait = true) {
    out.clear();
    std::unique_lock lock(mu_);
    for (;;) {
      const auto first = pick(node, [&](const Item& item) { return gpu_may_take(item); });
      if (first != items_.end()) {
        std::size_t bytes = (*first)->input_bytes;
        const bool small = bytes <= kBatchItemBytes;
        out.push_back(take(first));
        if (!small) return true;
        for (auto it = items_.begin(); it != items_.end() && out.size() < max_items;) {
          const std::size_t b = (*it)->input_bytes;
          if (gpu_may_take(**it) && b <= kBatchItemBytes && bytes + b <= max_bytes) {
            bytes += b;
            out.push_back(std::move(*it));
            it = items_.erase(it);  // deque: erase invalidates; continue from its result
            space_.notify_one();
          } else {
            ++it;
          }
        }
        return true;
      }
      if (closed_ || !wait) return false;
      cv_.wait(lock);
    }
  }

  static constexpr std::size_t kSmallBytes = 64u << 10;
  static constexpr std::size_t kBatchItemBytes = 1u << 20;
  static constexpr std::size_t kBatchMaxItems = 16;
  static constexpr std::size_t kBatchMaxBytes = 8u << 20;

 private:
  using Iter = typename std::deque<ItemPtr>::iterator;
  bool gpu_may_take(const Item& item) const {
    return !item.cpu_only && !(have_cpu_ && model_.prefer_cpu(item.input_bytes, kSmallBytes));
  }
  // The oldest item `ok` accepts that was decoded on `node`, else the oldest
  // it accepts at all; end() if none (under mu_).
  template <class Ok>
  Iter pick(int node, Ok ok) {
    auto first = items_.end();
    for (auto it = items_.begin(); it != items_.end(); ++it) {
      if (!ok(**it)) continue;
      if ((*it)->node == node) return it;
      if (first == items_.end()) first = it;
    }
    return first;
  }
  // Removes *it (under mu_).
  ItemPtr take(Iter it) {
    ItemPtr out = std::move(*it);
    items_.erase(it);
    space_.notify_one();
    return out;
  }

  std::mutex mu_;
  std::condition_variable cv_, space_;
  std::deque<ItemPtr> items_;
  std::size_t capacity_;
  int gpu_workers_;
  bool have_cpu_;
  bool closed_ = false;
  const ThroughputModel& model_;
};


}  // namespace tandem
