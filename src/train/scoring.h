// Scoring a labelled data set with a classifier, for metrics: each example's
// all_labels go in as candidates, the results come back as ScoredExample.
#pragma once
#include <functional>
#include <vector>

#include "gliclass/classifier.h"
#include "io/config.h"
#include "model/model.h"
#include "tokenize/tokenizer.h"
#include "train/data.h"
#include "train/metrics.h"

namespace gliclass::train {

// Runs a batch of requests (a Classifier, or a pipeline over a model in training).
using ClassifyFn = std::function<std::vector<ClassifyResult>(const std::vector<ClassifyRequest>&)>;

// The result's labels and scores with the example's truth (a label is true
// when its target is > 0.5, or it is the top label for single-label data).
ScoredExample to_scored(const TrainExample& example, const ClassifyResult& result, bool single_label);

// Every example, `chunk` requests per call; `progress` (optional) gets the
// number done after each call.
std::vector<ScoredExample> score_examples(const std::vector<TrainExample>& examples, const ClassifyFn& classify,
                                          bool single_label, size_t chunk = 64,
                                          const std::function<void(size_t)>& progress = {});

// Metrics of a model in memory (e.g. in training) on labelled examples,
// through the inference pipeline: the scores a Classifier loading its
// checkpoint would give. The model is put in eval mode and back in train mode.
EvalReport evaluate_model(const model::ModelPtr& model, std::shared_ptr<const tokenize::Tokenizer> tokenizer,
                          const io::GLiClassConfig& config, const std::vector<TrainExample>& examples,
                          size_t max_length, int64_t batch_size, double threshold, bool single_label);

}  // namespace gliclass::train
