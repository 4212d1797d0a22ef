// Classification metrics with the debtags scoring convention
// (../shared/data/debtags/README.md): for every example, one yes/no decision
// per candidate label in its all_labels; micro scores count all
// (example, label) decisions together.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gliclass::train {

// One example as scored: candidates, their probabilities, which are true.
struct ScoredExample {
  std::vector<std::string> labels;
  std::vector<float> scores;  // sigmoid (multi-label) or softmax (single-label)
  std::vector<bool> truth;
};

struct Counts {
  size_t tp = 0, fp = 0, fn = 0, tn = 0;
  double precision() const;  // 0 when nothing was predicted
  double recall() const;     // 0 when nothing is true
  double f1() const;         // 2tp / (2tp + fp + fn), 0 when that is 0/0
  size_t support() const { return tp + fn; }
};

struct EvalReport {
  size_t examples = 0;
  size_t decisions = 0;
  double threshold = 0.5;
  Counts micro;
  double micro_precision = 0, micro_recall = 0, micro_f1 = 0;
  // Means over labels that are true or predicted at least once (a label only
  // ever rejected correctly has no defined F1 and is left out).
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double accuracy = 0;      // correct decisions / decisions
  double exact_match = 0;   // examples whose every decision is right
  // Single-label: examples whose top-scored label is a true one.
  std::optional<double> top1_accuracy;
  // The threshold that maximises micro-F1 on this data, and that F1.
  double best_threshold = 0.5;
  double best_micro_f1 = 0;
  std::map<std::string, Counts> per_label;
};

// Multi-label: a label is predicted when score >= threshold. Single-label: the
// top-scored label is predicted (if its score >= threshold when a threshold is
// given), every other label is not.
// `keep` (optional) restricts the decisions to some labels (e.g. held-out ones).
EvalReport evaluate(const std::vector<ScoredExample>& examples, double threshold, bool single_label,
                    const std::function<bool(const std::string&)>& keep = {},
                    bool single_label_threshold = false);

// The threshold maximising micro-F1 over these (score, truth) decisions,
// found exactly by sorting: predicting the top k scores gives F1 = 2tp_k/(P+k).
// Returns {threshold, f1}; the threshold is the lowest score predicted.
std::pair<double, double> best_threshold(std::vector<std::pair<float, bool>> decisions);

}  // namespace gliclass::train
