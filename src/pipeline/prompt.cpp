#include "pipeline/prompt.h"

#include <utility>

#include "gliclass/error.h"
#include "io/config.h"
#include "tokenize/tokenizer.h"

namespace gliclass::pipeline {

void check_special_tokens(const tokenize::Tokenizer& tokenizer, const io::GLiClassConfig& config,
                          const std::filesystem::path& dir) {
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

UniEncoderPrompt build_uni_encoder_prompt(const std::string& text, const std::vector<std::string>& labels,
                                          const std::string& prompt, const std::vector<Example>& examples,
                                          bool prompt_first) {
  const std::string block = labels_block(labels, prompt);
  const std::string shots = format_examples(examples);
  UniEncoderPrompt p;
  auto append = [&p](const std::string& part, ByteRange& range) {
    range.begin = p.str.size();
    p.str += part;
    range.end = p.str.size();
  };
  if (prompt_first) {
    append(block, p.labels_block);
    append(text, p.text);
  } else {
    append(text, p.text);
    append(block, p.labels_block);
  }
  append(shots, p.examples);
  return p;
}

}  // namespace gliclass::pipeline
