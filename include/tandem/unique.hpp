/// @file unique.hpp
/// @brief Unique<State, Release>: the move-only owner inside tandem's RAII
///        classes (Buffer, Stream, io::AtomicFile, io::NpyReader).
#pragma once

#include <utility>

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

/// @brief Owns what a small value `State` describes (a handle and what releasing
///        it needs). `Release{}(state)` frees it when the owner is destroyed or
///        assigned over, and must accept a State that owns nothing; a moved-from
///        owner holds `State{}`, which must own nothing. A class whose resource
///        lives in one Unique member is move-only without writing any of the
///        five special members.
template <class State, class Release>
class Unique {
 public:
  Unique() = default;
  ~Unique() { Release{}(state_); }
  Unique(Unique&& other) noexcept : state_(std::exchange(other.state_, State{})) {}
  Unique& operator=(Unique&& other) noexcept {
    if (this != &other) {
      Release{}(state_);
      state_ = std::exchange(other.state_, State{});
    }
    return *this;
  }
  Unique(const Unique&) = delete;
  Unique& operator=(const Unique&) = delete;

  State* operator->() noexcept { return &state_; }
  const State* operator->() const noexcept { return &state_; }
  State& operator*() noexcept { return state_; }
  const State& operator*() const noexcept { return state_; }

 private:
  State state_{};
};

}  // namespace tandem

#pragma GCC visibility pop
