#include "train/scoring.h"

#include <algorithm>

#include "gliclass/error.h"
#include "pipeline/uni_encoder_pipeline.h"
#include "pipeline/validate.h"

namespace gliclass::train {

ScoredExample to_scored(const TrainExample& example, const ClassifyResult& result, bool single_label) {
  ScoredExample s;
  s.labels = result.labels;
  s.scores = result.scores;
  const std::string* top = single_label && !example.true_labels.empty() ? &example.top_label() : nullptr;
  for (const auto& label : s.labels)
    s.truth.push_back(top ? label == *top : example.target(label) > 0.5f);
  return s;
}

std::vector<ScoredExample> score_examples(const std::vector<TrainExample>& examples, const ClassifyFn& classify,
                                          bool single_label, size_t chunk,
                                          const std::function<void(size_t)>& progress) {
  std::vector<ScoredExample> out;
  out.reserve(examples.size());
  chunk = std::max<size_t>(1, chunk);
  for (size_t start = 0; start < examples.size(); start += chunk) {
    const size_t end = std::min(examples.size(), start + chunk);
    std::vector<ClassifyRequest> requests;
    for (size_t i = start; i < end; ++i) requests.push_back(to_request(examples[i]));
    auto results = classify(requests);
    if (results.size() != requests.size())
      throw Error("scoring: classifier returned " + std::to_string(results.size()) + " results for " +
                  std::to_string(requests.size()) + " requests");
    for (size_t i = start; i < end; ++i) out.push_back(to_scored(examples[i], results[i - start], single_label));
    if (progress) progress(end);
  }
  return out;
}

EvalReport evaluate_model(const model::ModelPtr& model, std::shared_ptr<const tokenize::Tokenizer> tokenizer,
                          const io::GLiClassConfig& config, const std::vector<TrainExample>& examples,
                          size_t max_length, int64_t batch_size, double threshold, bool single_label) {
  model->eval();
  ClassifierOptions copts;
  copts.max_length = static_cast<int64_t>(max_length);
  copts.batch_size = batch_size;
  pipeline::UniEncoderPipeline pipe({{}, std::move(tokenizer), model, config, copts, {}});
  ClassifyOptions opts;
  opts.type = single_label ? ClassificationType::kSingleLabel : ClassificationType::kMultiLabel;
  if (!single_label) opts.threshold = static_cast<float>(threshold);
  auto classify = [&](const std::vector<ClassifyRequest>& requests) {
    for (const auto& r : requests) pipeline::validate_request(r, copts);
    return pipe.run(requests, opts);
  };
  auto scored = score_examples(examples, classify, single_label, 64);
  model->train();
  return evaluate(scored, threshold, single_label);
}

}  // namespace gliclass::train
