#include "pipeline/encoder_decoder_inputs.h"

#include <algorithm>

#include "gliclass/error.h"
#include "pipeline/prompt.h"

namespace gliclass::pipeline {

FittedInput fit_text_side(const tokenize::Tokenizer& tokenizer, const std::string& text,
                          const std::vector<Example>& examples, size_t max_length) {
  if (max_length > 0 && special_count(tokenizer) >= max_length)
    throw InputError("input: max_length " + std::to_string(max_length) + " leaves no room for the text");
  PromptLayout layout;  // no labels block: text, then the examples
  layout.str = text + format_examples(examples);
  layout.text = {0, text.size()};
  layout.examples = {text.size(), layout.str.size()};
  return fit_layout(tokenizer, layout, max_length);
}

std::vector<int64_t> encode_label_side(const tokenize::Tokenizer& tokenizer, const std::vector<std::string>& labels,
                                       const std::string& prompt) {
  return tokenizer.with_special_tokens(tokenizer.encode(labels_block(labels, prompt)).ids);
}

std::vector<LabelGroup> plan_decoder_label_groups(const tokenize::Tokenizer& tokenizer,
                                                  const std::vector<std::string>& labels, const std::string& prompt,
                                                  size_t max_length, size_t max_per_group, size_t chunk_size) {
  if (chunk_size > 0) max_per_group = std::min(max_per_group, chunk_size);
  const size_t fixed = special_count(tokenizer) + tokenizer.encode(kSepToken + prompt).size();
  if (max_length > 0 && fixed >= max_length)
    throw InputError("input: the prompt needs " + std::to_string(fixed) + " tokens, max_length is " +
                     std::to_string(max_length));
  const size_t room = max_length > 0 ? max_length - fixed : SIZE_MAX;
  std::vector<LabelGroup> groups;
  size_t used = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    // Labels are separated by added tokens, so each "<<LABEL>>l" encodes on its own.
    const size_t cost = tokenizer.encode(kLabelToken + labels[i]).size();
    if (cost > room)
      throw InputError("input: label " + std::to_string(i) + " ('" + labels[i].substr(0, 40) + "') needs " +
                       std::to_string(cost) + " tokens, more than max_length allows");
    if (groups.empty() || groups.back().end - groups.back().begin == max_per_group || used + cost > room) {
      groups.push_back({i, i});
      used = 0;
    }
    groups.back().end = i + 1;
    used += cost;
  }
  return groups;
}

}  // namespace gliclass::pipeline
