// The shared work queue that CPU teams and GPU workers pull from, with the
// throughput model steering items between them (dynamic load balance: every
// worker pulls when it is free; the model only decides who may take what).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

#include "host/model.hpp"

namespace tandem {

/// Item must have `bool cpu_only` and `std::size_t input_bytes`.
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

  // CPU teams take the oldest item; they stop when the queue is closed, empty
  // and no GPU worker can still hand back a retry.
  ItemPtr pop_cpu() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !items_.empty() || (closed_ && gpu_workers_ == 0); });
    if (items_.empty()) return nullptr;
    ItemPtr it = std::move(items_.front());
    items_.pop_front();
    space_.notify_one();
    return it;
  }

  // GPU workers take the oldest item the model does not want on the CPU
  // (tiny images stay on the CPU while CPU teams exist).
  ItemPtr pop_gpu() {
    std::unique_lock lock(mu_);
    for (;;) {
      for (auto it = items_.begin(); it != items_.end(); ++it) {
        Item& item = **it;
        if (item.cpu_only) continue;
        if (have_cpu_ && model_.prefer_cpu(item.input_bytes, kSmallBytes)) continue;
        ItemPtr out = std::move(*it);
        items_.erase(it);
        space_.notify_one();
        return out;
      }
      if (closed_) return nullptr;
      cv_.wait(lock);
    }
  }

  static constexpr std::size_t kSmallBytes = 64u << 10;

 private:
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
