// Training batches: examples -> padded model input + targets. Prompt building
// and truncation are the inference pipeline's (pipeline/fit.h), so a model is
// trained on exactly the sequences it will be asked to score.
#pragma once
#include <torch/torch.h>

#include <cstddef>
#include <vector>

#include "io/config.h"
#include "model/model.h"
#include "tokenize/tokenizer.h"
#include "train/data.h"
#include "train/losses.h"

namespace gliclass::train {

struct TrainBatch {
  model::ModelInput input;  // [B,L] right-padded, num_classes = most labels in the batch
  BatchTargets targets;     // [B,K] targets and mask; [B] single-label indices
  size_t truncated = 0;     // rows whose text (or examples) was cut to max_length
};

// Encodes each example as the uni-encoder pipeline does (labels never cut; the
// text, then the examples, cut to max_length) and pads the batch with pad_id.
// single_label also fills targets.index (the example's top true label).
// When an example's labels alone do not fit: with `dropped` null, InputError
// naming its line; otherwise it is left out and its line appended to
// `dropped` (the batch may then be empty: input_ids undefined).
TrainBatch make_batch(const std::vector<TrainExample>& examples, const tokenize::Tokenizer& tokenizer,
                      const io::GLiClassConfig& config, size_t max_length, bool single_label, int64_t pad_id,
                      std::vector<size_t>* dropped = nullptr);

}  // namespace gliclass::train
