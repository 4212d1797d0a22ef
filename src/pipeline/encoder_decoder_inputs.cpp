#include "pipeline/encoder_decoder_inputs.h"

#include <algorithm>

#include "gliclass/error.h"
#include "pipeline/prompt.h"

namespace gliclass::pipeline {
namespace {

// prefix + body + suffix; the suffix is left out when the body already ends
// with it and the tokenizer says so (slow T5Tokenizer's _add_eos_if_not_present).
std::vector<int64_t> with_special_tokens(const tokenize::Tokenizer& tokenizer, const std::vector<int64_t>& body) {
  std::vector<int64_t> ids = tokenizer.prefix_ids();
  ids.insert(ids.end(), body.begin(), body.end());
  const auto suffix = tokenizer.suffix_ids();
  const bool present = tokenizer.suffix_only_if_absent() && !suffix.empty() && body.size() >= suffix.size() &&
                       std::equal(suffix.begin(), suffix.end(), body.end() - static_cast<std::ptrdiff_t>(suffix.size()));
  if (!present) ids.insert(ids.end(), suffix.begin(), suffix.end());
  return ids;
}

size_t special_count(const tokenize::Tokenizer& tokenizer) {
  return tokenizer.prefix_ids().size() + tokenizer.suffix_ids().size();
}

}  // namespace

FittedInput fit_text_side(const tokenize::Tokenizer& tokenizer, const std::string& text,
                          const std::vector<Example>& examples, size_t max_length) {
  const std::string input = text + format_examples(examples);
  const tokenize::Encoding enc = tokenizer.encode(input);
  // Tokens belong to the text when their first byte is in it, else to the examples.
  std::vector<size_t> text_tokens, example_tokens;
  for (size_t i = 0; i < enc.size(); ++i) (enc.begin[i] < text.size() ? text_tokens : example_tokens).push_back(i);

  const size_t specials = special_count(tokenizer);
  size_t overflow = (max_length > 0 && specials + enc.size() > max_length) ? specials + enc.size() - max_length : 0;
  if (max_length > 0 && specials >= max_length)
    throw InputError("input: max_length " + std::to_string(max_length) + " leaves no room for the text");
  std::vector<bool> keep(enc.size(), true);
  FittedInput out;
  for (auto* part : {&text_tokens, &example_tokens}) {
    while (overflow > 0 && !part->empty()) {
      keep[part->back()] = false;
      part->pop_back();
      --overflow;
      out.truncated = true;
    }
  }
  std::vector<int64_t> body;
  for (size_t i = 0; i < enc.size(); ++i)
    if (keep[i]) body.push_back(enc.ids[i]);
  out.ids = with_special_tokens(tokenizer, body);
  return out;
}

std::vector<int64_t> encode_label_side(const tokenize::Tokenizer& tokenizer, const std::vector<std::string>& labels,
                                       const std::string& prompt) {
  return with_special_tokens(tokenizer, tokenizer.encode(labels_block(labels, prompt)).ids);
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
