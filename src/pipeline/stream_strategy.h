// The per-session state of a StreamStrategy (gliclass/streaming.h) and its
// trigger rule (reference streaming/strategies.py).
#pragma once
#include <cstddef>
#include <string>

#include "gliclass/streaming.h"

namespace gliclass::pipeline {

class StrategyState {
 public:
  explicit StrategyState(StreamStrategy strategy) : strategy_(std::move(strategy)) {}
  // Called for every chunk that appended tokens; true when it triggers.
  // every_n_tokens counts tokens across chunks and restarts when it fires.
  bool should_classify(size_t tokens_added, const std::string& chunk);
  // Cached tokens to score over: the window, or `cached` when none.
  size_t window(size_t cached) const;

 private:
  StreamStrategy strategy_;
  size_t accumulated_ = 0;
};

}  // namespace gliclass::pipeline
