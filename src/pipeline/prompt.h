// The input strings of the models (reference.md §1). Uni-encoder:
//   labels block  P = "<<LABEL>>l1<<LABEL>>l2...<<SEP>>" + prompt
//   prompt_first: P + text + examples, otherwise: text + P + examples
//   examples      "<<EXAMPLE>>" + text + " \nLabels:\n " + "a, b" ... then one "<<SEP>>"
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "gliclass/classifier.h"

namespace gliclass::io {
struct GLiClassConfig;
}
namespace gliclass::tokenize {
class Tokenizer;
}

namespace gliclass::pipeline {

inline constexpr const char* kLabelToken = "<<LABEL>>";
inline constexpr const char* kSepToken = "<<SEP>>";
inline constexpr const char* kExampleToken = "<<EXAMPLE>>";

// ModelError unless the tokenizer of model directory `dir` maps the three
// tokens above to the ids config.json was trained with (bi-encoders, whose
// texts hold none of them, are not checked).
void check_special_tokens(const tokenize::Tokenizer& tokenizer, const io::GLiClassConfig& config,
                          const std::filesystem::path& dir);

struct ByteRange {
  size_t begin = 0;
  size_t end = 0;  // one past the last byte
  bool contains(size_t pos) const { return pos >= begin && pos < end; }
};

// The string and where its parts are, so truncation can cut the text (then
// the examples) and never the labels block.
struct PromptLayout {
  std::string str;
  ByteRange labels_block;  // labels, <<SEP>> and the task prompt
  ByteRange text;
  ByteRange examples;
};

std::string format_examples(const std::vector<Example>& examples);

// "<<LABEL>>l1<<LABEL>>l2...<<SEP>>" + prompt
std::string labels_block(const std::vector<std::string>& labels, const std::string& prompt);

PromptLayout build_uni_encoder_prompt(const std::string& text, const std::vector<std::string>& labels,
                                      const std::string& prompt, const std::vector<Example>& examples,
                                      bool prompt_first);

// bi-encoder text (reference BiEncoderZeroShotClassificationPipeline): the
// prompt and a space before the text, when there is a prompt. The labels go
// to the label encoder; examples are not used.
PromptLayout build_bi_encoder_text(const std::string& text, const std::string& prompt);

// bi-encoder-fused: block B = [prompt + " "] + "<<LABEL>>" x num_labels + "<<SEP>>";
// prompt_first: B + text + examples, otherwise text + B + examples.
PromptLayout build_fused_prompt(const std::string& text, size_t num_labels, const std::string& prompt,
                                const std::vector<Example>& examples, bool prompt_first);

}  // namespace gliclass::pipeline
