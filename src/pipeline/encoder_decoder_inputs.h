// The two token sequences of an encoder-decoder model (reference.md §1,
// EncoderDecoderZeroShotClassificationPipeline.prepare_inputs), each tokenized
// on its own with the tokenizer's special tokens (T5: "</s>" appended):
//   text side   text + few-shot examples ("<<EXAMPLE>>t \nLabels:\n a, b"...
//               "<<SEP>>"), cut to max_length: the text first, then the
//               examples (decisions.md; the reference cuts from the right)
//   label side  "<<LABEL>>l1<<LABEL>>l2...<<SEP>>" + prompt, never cut: labels
//               that do not fit (or more than the model's label slots) are
//               split into groups, one forward pass each.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "gliclass/classifier.h"
#include "pipeline/fit.h"
#include "tokenize/tokenizer.h"

namespace gliclass::pipeline {

FittedInput fit_text_side(const tokenize::Tokenizer& tokenizer, const std::string& text,
                          const std::vector<Example>& examples, size_t max_length);

// labels_block(labels, prompt) with the special tokens; no truncation (the
// groups of plan_decoder_label_groups fit).
std::vector<int64_t> encode_label_side(const tokenize::Tokenizer& tokenizer, const std::vector<std::string>& labels,
                                       const std::string& prompt);

// Consecutive groups of at most `max_per_group` labels (and at most
// `chunk_size` when > 0) whose label side fits max_length (0 = no limit).
// InputError when "<<SEP>>" + prompt alone does not fit, or naming a label
// that cannot fit on its own.
std::vector<LabelGroup> plan_decoder_label_groups(const tokenize::Tokenizer& tokenizer,
                                                  const std::vector<std::string>& labels, const std::string& prompt,
                                                  size_t max_length, size_t max_per_group, size_t chunk_size);

}  // namespace gliclass::pipeline
