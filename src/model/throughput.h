// Timed forward passes of a model on synthetic prompts: what `gliclass bench
// --config` measures (random weights of a published shape, no tokenizer).
#pragma once
#include <cstdint>
#include <functional>

#include "model/model.h"

namespace gliclass::model {

// One synthetic prompt: [CLS] (<<LABEL>> + label_tokens words) x labels
// <<SEP>> text_tokens words [SEP], so L = 2 + labels (1 + label_tokens) + 1 + text_tokens.
struct SyntheticPrompt {
  int64_t labels = 16;
  int64_t label_tokens = 4;
  int64_t text_tokens = 110;
  int64_t length() const { return 2 + labels * (1 + label_tokens) + 1 + text_tokens; }
};

// Median wall time in seconds of `repeats` calls of `run` (warming up is the caller's).
double median_seconds(const std::function<void()>& run, int repeats);

struct Timing {
  int64_t texts = 0;      // texts per timed run (whole batches)
  double seconds = 0;     // median over the timed runs
};

// Runs `texts` prompts (rounded up to whole batches of `batch_size`) through
// the uni-encoder `model` of `config`, once to warm up and then `repeats`
// times; the token ids are random words of the vocabulary. ModelError for
// architectures whose input is not one prompt (bi-encoders, encoder-decoder).
Timing time_forward(GLiClassModelImpl& model, const io::GLiClassConfig& config, const SyntheticPrompt& prompt,
                    int64_t batch_size, int64_t texts, int repeats);

}  // namespace gliclass::model
