// Training data in the reference's format (reference.md §5): a JSON list, or
// JSONL (one object a line), of
//   {"text": str, "all_labels": [str], "true_labels": [str] | {label: score},
//    "prompt"?: str, "examples"?: [{"text": str, "labels" | "true_labels": [str]}]}
// Other keys are ignored. Label descriptions: a JSON list (or JSONL) of
//   {"label": str, "descriptions"?: [str], "synonyms"?: [str]}.
#pragma once
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gliclass/classifier.h"

namespace gliclass::train {

struct TrainExample {
  std::string text;
  std::vector<std::string> all_labels;  // candidates, duplicates removed (first kept)
  // True labels with their target score (1 for the list form), in file order.
  // Every one is in all_labels.
  std::vector<std::pair<std::string, float>> true_labels;
  std::string prompt;
  std::vector<Example> examples;
  size_t line = 0;  // 1-based line (JSONL) or item (JSON list) number, for messages

  // Target of a candidate label: its score, or 0 when it is not a true label.
  float target(const std::string& label) const;
  // The single-label answer: the true label with the highest score (first on ties).
  const std::string& top_label() const;
};

struct LabelInfo {
  std::vector<std::string> descriptions;
  std::vector<std::string> synonyms;
};
using LabelDescriptions = std::map<std::string, LabelInfo>;

// Parses a whole file; a JSON list when its first non-blank byte is '[',
// JSONL otherwise (blank lines skipped). InputError naming the file, the line
// (or item) and the field on anything malformed: a missing or mistyped field,
// a true label not among all_labels, an empty all_labels, a score outside [0,1].
std::vector<TrainExample> load_examples(const std::filesystem::path& file);

// The same, from text in memory; `source` names it in messages.
std::vector<TrainExample> parse_examples(const std::string& content, const std::string& source);

LabelDescriptions load_label_descriptions(const std::filesystem::path& file);
LabelDescriptions parse_label_descriptions(const std::string& content, const std::string& source);

// The distinct labels of all_labels over the data set, sorted (the reference's
// pool for "add random labels").
std::vector<std::string> collect_labels(const std::vector<TrainExample>& examples);

// A request for the classifier: text, all_labels, prompt, examples.
ClassifyRequest to_request(const TrainExample& example);

// An RL training example (train/rl_trainer.h): candidates and truth, which
// candidates were judged (only those count in rewards), and an optional
// reward of its own (the "user" reward component).
struct RlExample {
  TrainExample example;
  std::vector<bool> judged;  // per example.all_labels
  std::optional<float> reward;
};

// Labelled data in the training format: every candidate judged; an item's
// optional "reward" number is its user reward.
std::vector<RlExample> load_rl_examples(const std::filesystem::path& file);

// Human feedback, JSONL or a JSON list of {"text", "labels": [shown],
// "accepted": [str], "rejected": [str], "score"?: number, "prompt"?: str}.
// Candidates: the shown labels, then any other accepted or rejected one;
// accepted labels are true; a label neither accepted nor rejected is not
// judged; "score" is the user reward. InputError naming the line otherwise
// (a label both accepted and rejected, nothing judged, a score that is not a number).
std::vector<RlExample> load_feedback(const std::filesystem::path& file);

}  // namespace gliclass::train
