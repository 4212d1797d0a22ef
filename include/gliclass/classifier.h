// The library API: load a GLiClass checkpoint once, classify many texts.
//
//   auto clf = gliclass::Classifier::load("path/to/model");
//   auto r = clf.classify({"I love this movie!", {"positive", "negative"}});
//   for (auto& p : r.predictions) std::cout << p.label << " " << p.score << "\n";
//
// A Classifier is cheap to copy (shared state) and safe to call from many
// threads at once. No LibTorch header is needed to use it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gliclass/error.h"

namespace gliclass {

enum class ClassificationType {
  kMultiLabel,   // sigmoid per label, every label with score >= threshold
  kSingleLabel,  // softmax over the text's own labels, the argmax label
};

// A few-shot example: a text with its correct labels.
struct Example {
  std::string text;
  std::vector<std::string> labels;
};

// One text to classify, with its candidate labels.
struct ClassifyRequest {
  std::string text;
  std::vector<std::string> labels;
  std::string prompt;                            // task description, may be empty
  std::vector<Example> examples;                 // few-shot examples, may be empty
  std::optional<float> threshold;                // overrides ClassifyOptions::threshold
  std::optional<ClassificationType> type;        // overrides ClassifyOptions::type
};

struct LabelScore {
  std::string label;
  float score = 0;
};

struct ClassifyResult {
  std::vector<LabelScore> predictions;  // chosen labels, highest score first
  std::vector<std::string> labels;      // every label scored, in request order (deduplicated)
  std::vector<float> scores;            // probability per label (sigmoid or softmax)
  std::vector<float> logits;            // raw model logit per label
  bool truncated = false;               // the text (or examples) was cut to fit max_length
  std::vector<std::string> warnings;    // e.g. duplicate labels dropped
};

// Arithmetic of the model's linear layers at inference (the bulk of the work).
enum class DType {
  kFloat32,   // reference parity (|Δlogit| <= 1e-4)
  kBFloat16,  // bf16 inputs and weights, fp32 accumulation (oneDNN; AVX512-BF16/AMX where present)
};

// "fp32" | "bf16"; InputError otherwise.
DType dtype_from_name(const std::string& name);
std::string dtype_name(DType dtype);

struct ClassifierOptions {
  int threads = 0;             // intra-op threads; 0 = every CPU this process may use
  DType dtype = DType::kFloat32;
  int64_t max_length = 1024;   // tokens per forward pass, special tokens included
  int64_t batch_size = 8;      // sequences per forward pass, at most
  // Padded tokens per forward pass (sequences x the longest one), at most; 0 =
  // no cap. Rows are sorted by length first, so short texts still batch wide
  // while long ones keep their attention scores small enough for the cache.
  int64_t max_batch_tokens = 4096;
  size_t max_labels = 1000;    // more labels than this in one request is an InputError
};

struct ClassifyOptions {
  ClassificationType type = ClassificationType::kMultiLabel;
  // Multi-label default 0.5; single-label applies it only when set here or per request.
  std::optional<float> threshold;
};

class Classifier {
 public:
  // Reads config.json, the weights and the tokenizer files from a local
  // directory in Hugging Face layout. Throws ModelError naming what is wrong.
  static Classifier load(const std::string& model_dir, const ClassifierOptions& options = {});

  ClassifyResult classify(const ClassifyRequest& request, const ClassifyOptions& options = {}) const;

  // Many texts, batched. Every request is validated first: an invalid one
  // throws InputError naming its index, and nothing is run.
  std::vector<ClassifyResult> classify(const std::vector<ClassifyRequest>& requests,
                                       const ClassifyOptions& options = {}) const;

  // Throws InputError if the request cannot be classified (empty label list,
  // invalid UTF-8, too many labels). Lets callers report one bad item and go on.
  void validate(const ClassifyRequest& request) const;

  const ClassifierOptions& options() const;
  // The checkpoint's architecture_type and backbone model_type.
  std::string architecture() const;
  std::string backbone() const;

 private:
  struct Impl;
  explicit Classifier(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace gliclass
