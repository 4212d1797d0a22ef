// Streaming classification (decoder-kv models, reference.md §4): sessions
// that receive a text in chunks. Each chunk is appended to the session's KV
// cache (the decoder never re-reads earlier chunks); when the session's
// strategy says so, its labels are scored against the cache without being
// stored.
//
//   auto stream = gliclass::StreamingClassifier::load("path/to/decoder-kv-model");
//   auto out = stream.push({{"call-1", "Hello, I'd like to", {"billing", "support"}}});
//   out = stream.push({{"call-1", " cancel my subscription.", {"billing", "support"}}});
//   if (out[0].predictions) ... out[0].predictions->predictions ...
//
// Every push names the sessions that are still active: a session absent from
// a push is deleted. A StreamingClassifier is cheap to copy (shared state);
// pushes are serialised. No LibTorch header is needed to use it.
#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gliclass/classifier.h"

namespace gliclass {

// When a chunk triggers classification, and over how much of the cache.
// The reference's strategies are: every_chunk, every_n_tokens(n),
// on_delimiter(s), never, sliding_window(w) and Composed(trigger, window),
// the latter being a trigger with window > 0 (composed()).
struct StreamStrategy {
  enum class Trigger { kEveryChunk, kEveryNTokens, kOnDelimiter, kNever };
  Trigger trigger = Trigger::kEveryChunk;
  size_t n_tokens = 0;    // kEveryNTokens: classify once this many tokens came since the last time
  std::string delimiter;  // kOnDelimiter: classify when the chunk contains it
  size_t window = 0;      // > 0: score over the last `window` cached tokens only

  static StreamStrategy every_chunk();
  static StreamStrategy every_n_tokens(size_t n);
  static StreamStrategy on_delimiter(std::string delimiter);
  static StreamStrategy never();
  static StreamStrategy sliding_window(size_t window);  // every chunk, last `window` tokens
  static StreamStrategy composed(const StreamStrategy& trigger, const StreamStrategy& window);

  // "every_chunk", "every_n_tokens:N", "on_delimiter:S", "never",
  // "sliding_window:W"; InputError otherwise.
  static StreamStrategy from_spec(const std::string& spec);
};

// One chunk of one session.
struct StreamInput {
  std::string session_id;           // non-empty, unique within a push
  std::string text;                 // the new chunk; may be empty (nothing appended)
  std::vector<std::string> labels;  // scored when the chunk triggers
  // A one-time prefix cached before the session's first chunk; changing it
  // on a session that has cached text is an InputError.
  std::string prompt;
  std::vector<Example> examples;
  std::optional<float> threshold;
  std::optional<ClassificationType> type;
  // Used when the session is created; a session keeps its strategy (and the
  // strategy's state, e.g. tokens counted so far) until it is deleted.
  std::optional<StreamStrategy> strategy;
};

struct StreamOutput {
  std::string session_id;
  bool triggered = false;
  std::optional<ClassifyResult> predictions;  // set when triggered
  size_t cached_length = 0;                   // tokens in the session's cache after this chunk
  size_t tokens_added = 0;                    // tokens this chunk appended (prefix included)
};

struct StreamOptions {
  // Cache cap in tokens (0 = none): older tokens are dropped, and the ones
  // kept stay at their absolute positions.
  size_t max_cache_len = 0;
  size_t batch_size = 8;  // sessions per forward pass, at most
  StreamStrategy default_strategy;
  ClassificationType type = ClassificationType::kMultiLabel;
  std::optional<float> threshold;
};

class StreamingClassifier {
 public:
  // As Classifier::load; ModelError unless the model is a decoder-kv one.
  // InputError for options this mode cannot honour (per-request adapters).
  static StreamingClassifier load(const std::string& model, const ClassifierOptions& options = {},
                                  const StreamOptions& stream_options = {});

  // Appends each input's chunk to its session (created on first sight),
  // deletes the sessions not named, and classifies those whose strategy
  // triggers. Outputs are in input order. Every input is checked first: an
  // invalid one throws InputError naming its index and nothing changes.
  std::vector<StreamOutput> push(const std::vector<StreamInput>& inputs);

  std::vector<std::string> active_sessions() const;  // in creation order
  bool delete_session(const std::string& session_id);
  void clear_sessions();

 private:
  struct Impl;
  explicit StreamingClassifier(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace gliclass
