// The reference's training-time augmentations (data_processing.DataAugmenter)
// and per-read preparation (GLiClassDataset), driven by a seeded generator so
// a run is reproducible. Each augmentation fires with its own probability, in
// the reference's order:
//   remove labels     keep a random non-empty subset of all_labels (true labels follow)
//   add labels        add 1..min(|all|+1, |pool|) labels drawn from the data set's labels
//   add text          glue an unrelated example's text (no shared candidate label)
//                     before or after the text
//   synonyms          each label with synonyms becomes one of them with p = 0.5
//   descriptions      "label: description" for 1..3 labels, before or after the text
//   examples          1..2 few-shot examples: the item's own, else data-set examples
//                     sharing a true label with the candidates
// Then, on every read: the candidates are reshuffled and a random non-empty
// subset of the item's examples is kept (format_examples).
//
// Where the reference has plumbing bugs this differs, on purpose:
//   - a label replaced by a synonym keeps its target (the reference turns a true
//     label into a negative when it swaps in its synonym);
//   - added labels already among the candidates are skipped (no duplicates);
//   - an item is never its own few-shot example (that would show the answer).
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "train/data.h"
#include "train/random.h"

namespace gliclass::train {

struct AugmentOptions {
  double remove_labels = 0.15;
  double add_labels = 0.10;
  double add_text = 0.05;
  double synonyms = 0.10;
  double descriptions = 0.25;
  double examples = 0.25;
  size_t max_examples = 5;     // candidates considered for "examples"
  bool shuffle_labels = true;  // reshuffle candidates on every read
  // Single-label training: "remove labels" always keeps the top true label, so
  // every view still has its answer among the candidates.
  bool keep_top_label = false;

  // Every probability 0 (shuffling and example subsets stay as set).
  static AugmentOptions none();
};

class Augmenter {
 public:
  // `pool` is the training set (unrelated texts, few-shot examples, the label
  // pool); it must outlive the Augmenter.
  Augmenter(const std::vector<TrainExample>& pool, LabelDescriptions descriptions, AugmentOptions options);

  // A training view of pool[index]: augmentations, label shuffle, example subset.
  TrainExample draw(size_t index, Rng& rng) const;

  // The augmentations alone, on any item (`self` = its pool index, or -1).
  TrainExample augment(const TrainExample& item, long self, Rng& rng) const;

  const AugmentOptions& options() const { return options_; }

 private:
  void remove_labels(TrainExample& item, Rng& rng) const;
  void add_labels(TrainExample& item, Rng& rng) const;
  void add_text(TrainExample& item, Rng& rng) const;
  void add_synonyms(TrainExample& item, Rng& rng) const;
  void add_descriptions(TrainExample& item, Rng& rng) const;
  void add_examples(TrainExample& item, long self, Rng& rng) const;

  const std::vector<TrainExample>& pool_;
  LabelDescriptions descriptions_;
  AugmentOptions options_;
  std::vector<std::string> labels_;                           // sorted distinct candidates
  std::unordered_map<std::string, std::vector<size_t>> by_true_label_;  // label -> pool items
};

}  // namespace gliclass::train
