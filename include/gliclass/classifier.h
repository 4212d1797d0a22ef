// The library API: load a GLiClass checkpoint once, classify many texts.
//
//   auto clf = gliclass::Classifier::load("path/to/model");  // or "org/name" on the Hub
//   auto r = clf.classify({"I love this movie!", {"positive", "negative"}});
//   for (auto& p : r.predictions) std::cout << p.label << " " << p.score << "\n";
//
// A Classifier is cheap to copy (shared state) and safe to call from many
// threads at once. No LibTorch header is needed to use it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
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

// A retrieved example (RAC): a text, the labels it has, and the labels it
// was offered; those it lacks become negative examples.
struct RacExample {
  std::string text;
  std::vector<std::string> true_labels;
  std::vector<std::string> all_labels;
};

// One text to classify, with its candidate labels.
struct ClassifyRequest {
  std::string text;
  std::vector<std::string> labels;
  std::string prompt;                            // task description, may be empty
  std::vector<Example> examples;                 // few-shot examples, may be empty
  // Retrieval-augmented examples, appended to the text (to every window of
  // it) with the reference's markers: " <<EXAMPLE>> t <<TRUE_LABEL>> a
  // <<FALSE_LABEL>> b <</EXAMPLE>>". Examples without true labels are dropped.
  std::vector<RacExample> rac_examples;
  // A LoRA adapter loaded with ClassifierOptions::adapters; empty or
  // "__base__" = the base model.
  std::string adapter_id;
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
  size_t windows = 1;                   // text windows scored (TextChunking), 1 = the whole text
  size_t label_groups = 1;              // forward passes the labels were split into, per window
  std::vector<std::string> warnings;    // e.g. duplicate labels dropped
};

// Arithmetic of the model's linear layers at inference (the bulk of the work).
enum class DType {
  kFloat32,   // reference parity (|Δlogit| <= 1e-4)
  kBFloat16,  // bf16 inputs and weights, fp32 accumulation (oneDNN; AVX512-BF16/AMX where present)
  kInt8,      // dynamic quantisation of the linear layers: int8 weights (per row) and inputs (per call)
};

// "fp32" | "bf16" | "int8"; InputError otherwise.
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
  // Bytes of UTF-8 in one text (also in the prompt, a label or an example's
  // text), at most; longer is an InputError before anything is tokenized.
  // Tokens never outnumber bytes by much, so this bounds a request's memory.
  size_t max_text_bytes = size_t{16} << 20;
  // PEFT LoRA adapter directories by id, kept apart from the weights (many
  // over one base model); requests choose one with adapter_id, and rows of
  // different adapters never share a forward pass.
  std::map<std::string, std::string> adapters;
  // A PEFT LoRA adapter directory merged into the weights at load
  // (W += s B A): every request runs with it.
  std::string merged_adapter;
  // Bi-encoders: label vectors kept for reuse (least recently used dropped
  // first), in bytes; 0 = encode every label every time.
  size_t label_cache_bytes = size_t{64} << 20;
};

// Long texts: score overlapping windows and combine per label, instead of
// cutting the text at max_length. Windows are consecutive spans of `size`
// units starting every `size - overlap` units; the last one ends at the text's
// end. Per window the labels get sigmoid (multi-label) or softmax
// (single-label) scores; per label the windows' scores are combined (max or
// mean), and single-label scores are then divided by their sum.
// `logits` of a windowed result hold each label's max over windows.
enum class ChunkUnit { kCharacters, kTokens };  // Unicode code points, as the reference; or tokens
enum class WindowCombine { kMax, kMean };

struct TextChunking {
  size_t size = 0;                 // units per window; 0 = no windows (a text that does not fit is cut)
  std::optional<size_t> overlap;   // units shared by neighbouring windows; default size / 8
  ChunkUnit unit = ChunkUnit::kCharacters;
  WindowCombine combine = WindowCombine::kMax;
};

// "chars" | "tokens", "max" | "mean"; InputError otherwise.
ChunkUnit chunk_unit_from_name(const std::string& name);
WindowCombine window_combine_from_name(const std::string& name);

struct ClassifyOptions {
  ClassificationType type = ClassificationType::kMultiLabel;
  // Multi-label default 0.5; single-label applies it only when set here or per request.
  std::optional<float> threshold;
  TextChunking chunking;
  // Labels per forward pass. 0 = as many as fit: labels are split only when
  // they would leave less than half of max_length for the text.
  size_t labels_chunk_size = 0;
};

class Classifier {
 public:
  // Reads config.json, the weights and the tokenizer files from `model`: a
  // local directory in Hugging Face layout, or a Hub id "org/name[@revision]"
  // found in (or downloaded into) the Hugging Face cache, as the HF libraries
  // do (HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, HF_ENDPOINT, HF_TOKEN). Throws
  // ModelError naming what is wrong. Sets glibc malloc to keep freed blocks
  // (process-wide): LibTorch's large activations are then reused instead of
  // page-faulted in again each layer.
  static Classifier load(const std::string& model, const ClassifierOptions& options = {});

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
  // The ids of ClassifierOptions::adapters.
  std::vector<std::string> adapter_ids() const;

 private:
  struct Impl;
  explicit Classifier(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace gliclass
