// Flags shared by `classify`, `eval` and `serve`: how the model runs, and how
// long texts and large label sets are split into forward passes.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "gliclass/classifier.h"

namespace gliclass::cli {

struct EngineFlags {
  int threads = 0;
  std::string dtype = "fp32";
  int64_t max_batch_tokens = ClassifierOptions{}.max_batch_tokens;
  int64_t max_length = ClassifierOptions{}.max_length;
  size_t label_cache_mb = ClassifierOptions{}.label_cache_bytes >> 20;
  // classify/eval: one adapter DIR for every text (merged with merge_adapter);
  // serve: NAME=DIR, several, chosen per request by adapter_id.
  std::vector<std::string> adapters;
  bool merge_adapter = false;

  void add_to(CLI::App& cmd, bool named_adapters = false);
  // The flags' part of the options; batch size and label limit are the caller's.
  ClassifierOptions options() const;
  // The adapter id every request of classify/eval runs with ("" = none).
  std::string adapter_id() const;
};

struct ChunkingFlags {
  size_t text_chunk_size = 0;
  size_t overlap = 0;
  CLI::Option* overlap_option = nullptr;  // unset: the library's default
  std::string unit = "chars";
  std::string combine = "max";
  size_t labels_chunk_size = 0;

  void add_to(CLI::App& cmd);
  void apply_to(ClassifyOptions& options) const;
};

}  // namespace gliclass::cli
