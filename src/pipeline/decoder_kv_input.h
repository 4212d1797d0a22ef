// Input of a decoder-kv model (reference.md §1, data_processing.py):
//   context  prompt + examples + text          (examples as the uni-encoder's)
//   labels   "<<SEP>>" + "l1<<LABEL>>l2<<LABEL>>..." + "<<SEP>>"
// tokenized separately without special tokens; the labels are kept whole and
// the context is cut from the right to max(1, max_length - label ids).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gliclass/classifier.h"
#include "pipeline/fit.h"
#include "tokenize/tokenizer.h"

namespace gliclass::pipeline {

std::string decoder_kv_context(const std::string& prompt, const std::vector<Example>& examples,
                               const std::string& text);

std::string decoder_kv_labels(const std::vector<std::string>& labels);

// context ids (cut) + label ids.
FittedInput fit_decoder_kv(std::vector<int64_t> context_ids, const std::vector<int64_t>& label_ids,
                           size_t max_length);

// Label groups for one pass each: one group when context and labels fit in
// max_length or the label sequence takes at most half of it; otherwise
// consecutive groups whose sequences take at most half (chunk_size > 0:
// groups of that many labels). InputError naming a label that alone cannot fit.
std::vector<LabelGroup> decoder_kv_label_groups(const tokenize::Tokenizer& tokenizer,
                                                const std::vector<std::string>& labels, size_t context_tokens,
                                                size_t max_length, size_t chunk_size);

}  // namespace gliclass::pipeline
