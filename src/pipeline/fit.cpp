#include "pipeline/fit.h"

#include <algorithm>

#include "gliclass/error.h"
#include "pipeline/prompt.h"

namespace gliclass::pipeline {
namespace {

size_t count_tokens(const tokenize::Tokenizer& tok, const std::string& s) { return tok.encode(s).size(); }

}  // namespace

size_t special_count(const tokenize::Tokenizer& tok) { return tok.prefix_ids().size() + tok.suffix_ids().size(); }

FittedInput fit_uni_encoder(const tokenize::Tokenizer& tokenizer, const std::string& text,
                            const std::vector<std::string>& labels, const std::string& prompt,
                            const std::vector<Example>& examples, bool prompt_first, size_t max_length) {
  return fit_layout(tokenizer, build_uni_encoder_prompt(text, labels, prompt, examples, prompt_first), max_length);
}

FittedInput fit_layout(const tokenize::Tokenizer& tokenizer, const PromptLayout& p, size_t max_length) {
  const tokenize::Encoding enc = tokenizer.encode(p.str);
  const auto prefix = tokenizer.prefix_ids();
  const auto suffix = tokenizer.suffix_ids();

  // Tokens belong to the part their first byte is in.
  std::vector<size_t> text_tokens, example_tokens;
  for (size_t i = 0; i < enc.size(); ++i) {
    if (p.text.contains(enc.begin[i]))
      text_tokens.push_back(i);
    else if (p.examples.contains(enc.begin[i]))
      example_tokens.push_back(i);
  }

  const size_t total = prefix.size() + enc.size() + suffix.size();
  size_t overflow = (max_length > 0 && total > max_length) ? total - max_length : 0;
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
  if (overflow > 0)
    throw InputError("input: the labels and prompt need " + std::to_string(total - text_tokens.size() -
                                                                          example_tokens.size()) +
                     " tokens, more than max_length " + std::to_string(max_length));

  std::vector<int64_t> body;
  body.reserve(enc.size());
  for (size_t i = 0; i < enc.size(); ++i)
    if (keep[i]) body.push_back(enc.ids[i]);
  out.ids = tokenizer.with_special_tokens(body);
  return out;
}

std::vector<LabelGroup> plan_label_groups(const tokenize::Tokenizer& tokenizer, const std::string& text,
                                          const std::vector<std::string>& labels, const std::string& prompt,
                                          const std::vector<Example>& examples, size_t max_length,
                                          size_t chunk_size) {
  if (labels.empty()) return {};
  if (chunk_size > 0) {
    std::vector<LabelGroup> groups;
    for (size_t b = 0; b < labels.size(); b += chunk_size) groups.push_back({b, std::min(labels.size(), b + chunk_size)});
    return groups;
  }
  std::vector<LabelGroup> whole{{0, labels.size()}};
  if (max_length == 0) return whole;

  // Labels are separated by added tokens, so each "<<LABEL>>l" encodes on its own.
  std::vector<size_t> label_cost(labels.size());
  size_t labels_total = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    label_cost[i] = count_tokens(tokenizer, kLabelToken + labels[i]);
    labels_total += label_cost[i];
  }
  const size_t fixed = special_count(tokenizer) + count_tokens(tokenizer, kSepToken + prompt);
  if (fixed >= max_length)
    throw InputError("input: the prompt needs " + std::to_string(fixed) + " tokens, max_length is " +
                     std::to_string(max_length));
  const size_t rest = count_tokens(tokenizer, text) + count_tokens(tokenizer, format_examples(examples));
  const size_t room = max_length - fixed;
  const size_t half = room / 2;
  if (labels_total + rest <= room || labels_total <= half) return whole;

  std::vector<LabelGroup> groups;
  size_t used = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (label_cost[i] > room)
      throw InputError("input: label " + std::to_string(i) + " ('" + labels[i].substr(0, 40) + "') needs " +
                       std::to_string(label_cost[i]) + " tokens, more than max_length allows");
    if (groups.empty() || used + label_cost[i] > std::max(half, label_cost[i])) {
      groups.push_back({i, i});
      used = 0;
    }
    groups.back().end = i + 1;
    used += label_cost[i];
  }
  return groups;
}

}  // namespace gliclass::pipeline
