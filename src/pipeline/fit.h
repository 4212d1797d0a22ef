// Fitting one text and its labels into max_length tokens (decisions.md):
// the text is cut first, then the examples; labels are never cut. When the
// labels take so much of the window that the text would be cut, they are split
// into groups (one forward pass each) so that every pass keeps room for text.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gliclass/classifier.h"
#include "pipeline/prompt.h"
#include "tokenize/tokenizer.h"

namespace gliclass::pipeline {

// Token ids of one forward pass, special tokens included.
struct FittedInput {
  std::vector<int64_t> ids;
  bool truncated = false;
};

// Tokens the tokenizer's template adds around one sequence.
size_t special_count(const tokenize::Tokenizer& tokenizer);

// Encodes `layout` with the tokenizer's special tokens, cutting text then
// examples from their ends until it fits max_length (0 = no limit).
// InputError if the labels block alone does not fit.
FittedInput fit_layout(const tokenize::Tokenizer& tokenizer, const PromptLayout& layout, size_t max_length);

// Encodes the uni-encoder prompt for these labels, cutting text then examples
// from their ends until it fits. InputError if the labels block alone does not.
FittedInput fit_uni_encoder(const tokenize::Tokenizer& tokenizer, const std::string& text,
                            const std::vector<std::string>& labels, const std::string& prompt,
                            const std::vector<Example>& examples, bool prompt_first, size_t max_length);

struct LabelGroup {
  size_t begin = 0;  // labels[begin, end)
  size_t end = 0;
};

// `chunk_size` > 0: consecutive groups of that many labels (the reference's
// labels_chunk_size). 0: one group when everything fits or the labels block is
// at most half the window; otherwise consecutive groups whose blocks each
// take at most half. InputError naming the label when one label alone cannot fit.
std::vector<LabelGroup> plan_label_groups(const tokenize::Tokenizer& tokenizer, const std::string& text,
                                          const std::vector<std::string>& labels, const std::string& prompt,
                                          const std::vector<Example>& examples, size_t max_length,
                                          size_t chunk_size = 0);

}  // namespace gliclass::pipeline
