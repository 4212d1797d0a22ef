#include "pipeline/decoder_kv_input.h"

#include <algorithm>

#include "gliclass/error.h"
#include "pipeline/prompt.h"

namespace gliclass::pipeline {

std::string decoder_kv_context(const std::string& prompt, const std::vector<Example>& examples,
                               const std::string& text) {
  return prompt + format_examples(examples) + text;
}

std::string decoder_kv_labels(const std::vector<std::string>& labels) {
  std::string s = kSepToken;
  for (const auto& l : labels) s += l + kLabelToken;
  return s + kSepToken;
}

FittedInput fit_decoder_kv(std::vector<int64_t> context_ids, const std::vector<int64_t>& label_ids,
                           size_t max_length) {
  FittedInput out;
  const size_t keep = max_length > label_ids.size() + 1 ? max_length - label_ids.size() : 1;
  if (context_ids.size() > keep) {
    context_ids.resize(keep);
    out.truncated = true;
  }
  out.ids = std::move(context_ids);
  out.ids.insert(out.ids.end(), label_ids.begin(), label_ids.end());
  return out;
}

std::vector<LabelGroup> decoder_kv_label_groups(const tokenize::Tokenizer& tokenizer,
                                                const std::vector<std::string>& labels, size_t context_tokens,
                                                size_t max_length, size_t chunk_size) {
  std::vector<LabelGroup> groups;
  if (labels.empty()) return groups;
  if (chunk_size > 0) {
    for (size_t b = 0; b < labels.size(); b += chunk_size) groups.push_back({b, std::min(labels.size(), b + chunk_size)});
    return groups;
  }
  // <<LABEL>> and <<SEP>> are added tokens, so each label is tokenized on its own.
  std::vector<size_t> cost;
  size_t total = 2;  // the two <<SEP>>
  for (const auto& l : labels) {
    cost.push_back(tokenizer.encode(l).size() + 1);
    total += cost.back();
  }
  const size_t half = max_length / 2;
  if (total + std::max<size_t>(1, context_tokens) <= max_length || total <= half) return {{0, labels.size()}};
  size_t begin = 0, used = 2;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (2 + cost[i] > half)
      throw InputError("input: label \"" + labels[i] + "\" needs " + std::to_string(cost[i]) +
                       " tokens, more than half of max_length " + std::to_string(max_length));
    if (used + cost[i] > half) {
      groups.push_back({begin, i});
      begin = i;
      used = 2;
    }
    used += cost[i];
  }
  groups.push_back({begin, labels.size()});
  return groups;
}

}  // namespace gliclass::pipeline
