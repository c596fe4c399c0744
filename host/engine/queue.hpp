// Bounded queues and the byte budget that connect the pipeline's stages.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace tandem {

/// A closable MPMC queue holding at most `capacity` items: push blocks when
/// full, pop blocks when empty and returns nullopt once closed and drained.
template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity ? capacity : 1) {}

  /// Returns false (dropping the item) when the queue was closed.
  bool push(T item) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  /// No more pushes; poppers drain what is left.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;
  std::size_t capacity_;
  bool closed_ = false;
};

/// A stage's bounded queue and the threads that drain it. start(n, work)
/// runs work(i) on n threads, each popping until the queue is closed and
/// drained; stop() closes the queue and joins them (as does the destructor,
/// so a pool declared after what its threads use ends before that goes).
template <class T>
class WorkerPool {
 public:
  explicit WorkerPool(std::size_t capacity) : queue_(capacity) {}
  ~WorkerPool() { stop(); }

  template <class Work>
  void start(std::size_t n, Work work) {
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([work, i] { work(i); });
  }
  /// Blocks while the queue is full.
  void push(T item) { queue_.push(std::move(item)); }
  std::optional<T> pop() { return queue_.pop(); }
  void stop() {
    queue_.close();
    threads_.clear();  // joins
  }

 private:
  BoundedQueue<T> queue_;
  std::vector<std::jthread> threads_;
};

/// Bytes of item data alive between reading and writing. acquire() blocks
/// while the budget is spent, except that a lone item larger than the whole
/// budget may proceed when nothing else is in flight (else it could never run).
class MemoryBudget {
 public:
  explicit MemoryBudget(std::size_t limit) : limit_(limit) {}

  /// Returns false if cancelled while waiting.
  bool acquire(std::size_t bytes) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return cancelled_ || used_ == 0 || used_ + bytes <= limit_; });
    if (cancelled_) return false;
    used_ += bytes;
    if (used_ > peak_) peak_ = used_;
    return true;
  }

  void release(std::size_t bytes) {
    std::lock_guard lock(mu_);
    used_ = bytes > used_ ? 0 : used_ - bytes;
    cv_.notify_all();
  }

  void cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

  std::size_t limit() const { return limit_; }
  std::size_t peak() const {
    std::lock_guard lock(mu_);
    return peak_;
  }
  std::size_t used() const {
    std::lock_guard lock(mu_);
    return used_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::size_t limit_;
  std::size_t used_ = 0;
  std::size_t peak_ = 0;
  bool cancelled_ = false;
};

}  // namespace tandem
