#include "pipeline/stream_strategy.h"

#include <algorithm>

#include "gliclass/error.h"

namespace gliclass {

StreamStrategy StreamStrategy::every_chunk() { return {}; }

StreamStrategy StreamStrategy::every_n_tokens(size_t n) {
  if (n == 0) throw InputError("strategy: every_n_tokens needs n > 0");
  StreamStrategy s;
  s.trigger = Trigger::kEveryNTokens;
  s.n_tokens = n;
  return s;
}

StreamStrategy StreamStrategy::on_delimiter(std::string delimiter) {
  if (delimiter.empty()) throw InputError("strategy: on_delimiter needs a non-empty delimiter");
  StreamStrategy s;
  s.trigger = Trigger::kOnDelimiter;
  s.delimiter = std::move(delimiter);
  return s;
}

StreamStrategy StreamStrategy::never() {
  StreamStrategy s;
  s.trigger = Trigger::kNever;
  return s;
}

StreamStrategy StreamStrategy::sliding_window(size_t window) {
  if (window == 0) throw InputError("strategy: sliding_window needs a window > 0");
  StreamStrategy s;
  s.window = window;
  return s;
}

StreamStrategy StreamStrategy::composed(const StreamStrategy& trigger, const StreamStrategy& window) {
  StreamStrategy s = trigger;
  s.window = window.window;
  return s;
}

StreamStrategy StreamStrategy::from_spec(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  auto number = [&]() -> size_t {
    if (arg.empty() || !std::all_of(arg.begin(), arg.end(), [](char c) { return c >= '0' && c <= '9'; }))
      throw InputError("strategy: \"" + spec + "\" needs a positive integer after ':'");
    return std::stoul(arg);
  };
  if (name == "every_chunk" && colon == std::string::npos) return every_chunk();
  if (name == "never" && colon == std::string::npos) return never();
  if (name == "every_n_tokens") return every_n_tokens(number());
  if (name == "sliding_window") return sliding_window(number());
  if (name == "on_delimiter" && colon != std::string::npos) return on_delimiter(arg);
  throw InputError("strategy: unknown strategy \"" + spec +
                   "\" (expected every_chunk, every_n_tokens:N, on_delimiter:S, never or sliding_window:W)");
}

namespace pipeline {

bool StrategyState::should_classify(size_t tokens_added, const std::string& chunk) {
  switch (strategy_.trigger) {
    case StreamStrategy::Trigger::kEveryChunk: return tokens_added > 0;
    case StreamStrategy::Trigger::kEveryNTokens:
      accumulated_ += tokens_added;
      if (accumulated_ < strategy_.n_tokens) return false;
      accumulated_ = 0;
      return true;
    case StreamStrategy::Trigger::kOnDelimiter: return chunk.find(strategy_.delimiter) != std::string::npos;
    case StreamStrategy::Trigger::kNever: return false;
  }
  return false;
}

size_t StrategyState::window(size_t cached) const {
  return strategy_.window > 0 ? std::min(cached, strategy_.window) : cached;
}

}  // namespace pipeline
}  // namespace gliclass
