#include "pipeline/prompt.h"

#include <utility>

#include "gliclass/error.h"
#include "io/config.h"
#include "tokenize/tokenizer.h"

namespace gliclass::pipeline {

void check_special_tokens(const tokenize::Tokenizer& tokenizer, const io::GLiClassConfig& config,
                          const std::filesystem::path& dir) {
  if (config.architecture_type == "bi-encoder") return;  // its texts hold none of them
  const std::pair<const char*, int64_t> expected[] = {{kLabelToken, config.class_token_index},
                                                      {kSepToken, config.text_token_index},
                                                      {kExampleToken, config.example_token_index}};
  for (const auto& [token, id] : expected) {
    const auto found = tokenizer.token_to_id(token);
    if (!found || *found != id)
      throw ModelError("tokenizer: the tokenizer in " + dir.string() + " maps " + token + " to " +
                       (found ? std::to_string(*found) : std::string("nothing")) + " (expected " +
                       std::to_string(id) + " from config.json)");
  }
}

std::string format_examples(const std::vector<Example>& examples) {
  if (examples.empty()) return "";
  std::string out;
  for (const auto& ex : examples) {
    out += kExampleToken;
    out += ex.text;
    out += " \nLabels:\n ";
    for (size_t i = 0; i < ex.labels.size(); ++i) {
      if (i) out += ", ";
      out += ex.labels[i];
    }
  }
  out += kSepToken;
  return out;
}

std::string labels_block(const std::vector<std::string>& labels, const std::string& prompt) {
  std::string out;
  for (const auto& l : labels) {
    out += kLabelToken;
    out += l;
  }
  out += kSepToken;
  out += prompt;
  return out;
}

namespace {

// Appends parts to a layout, recording where each one lies.
struct LayoutWriter {
  PromptLayout p;
  void append(const std::string& part, ByteRange& range) {
    range.begin = p.str.size();
    p.str += part;
    range.end = p.str.size();
  }
};

}  // namespace

PromptLayout build_uni_encoder_prompt(const std::string& text, const std::vector<std::string>& labels,
                                      const std::string& prompt, const std::vector<Example>& examples,
                                      bool prompt_first) {
  LayoutWriter w;
  if (prompt_first) {
    w.append(labels_block(labels, prompt), w.p.labels_block);
    w.append(text, w.p.text);
  } else {
    w.append(text, w.p.text);
    w.append(labels_block(labels, prompt), w.p.labels_block);
  }
  w.append(format_examples(examples), w.p.examples);
  return w.p;
}

PromptLayout build_bi_encoder_text(const std::string& text, const std::string& prompt) {
  LayoutWriter w;
  w.append(prompt.empty() ? "" : prompt + " ", w.p.labels_block);
  w.append(text, w.p.text);
  w.append("", w.p.examples);
  return w.p;
}

PromptLayout build_fused_prompt(const std::string& text, size_t num_labels, const std::string& prompt,
                                const std::vector<Example>& examples, bool prompt_first) {
  std::string block = prompt.empty() ? "" : prompt + " ";
  for (size_t k = 0; k < num_labels; ++k) block += kLabelToken;
  block += kSepToken;
  LayoutWriter w;
  if (prompt_first) {
    w.append(block, w.p.labels_block);
    w.append(text, w.p.text);
  } else {
    w.append(text, w.p.text);
    w.append(block, w.p.labels_block);
  }
  w.append(format_examples(examples), w.p.examples);
  return w.p;
}

}  // namespace gliclass::pipeline
