#include "pipeline/postprocess.h"

#include <algorithm>
#include <cmath>

namespace gliclass::pipeline {

ClassifyResult make_result(std::vector<std::string> labels, std::vector<float> logits,
                           ClassificationType type, std::optional<float> threshold) {
  ClassifyResult r;
  r.scores.resize(logits.size());
  if (type == ClassificationType::kMultiLabel) {
    for (size_t i = 0; i < logits.size(); ++i) r.scores[i] = 1.0f / (1.0f + std::exp(-logits[i]));
    const float t = threshold.value_or(kDefaultThreshold);
    for (size_t i = 0; i < logits.size(); ++i)
      if (r.scores[i] >= t) r.predictions.push_back({labels[i], r.scores[i]});
    std::stable_sort(r.predictions.begin(), r.predictions.end(),
                     [](const LabelScore& a, const LabelScore& b) { return a.score > b.score; });
  } else if (!logits.empty()) {
    // softmax(x)_i = exp(x_i - max) / sum_j exp(x_j - max)
    const float mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (size_t i = 0; i < logits.size(); ++i) sum += (r.scores[i] = std::exp(logits[i] - mx));
    for (auto& s : r.scores) s = static_cast<float>(s / sum);
    const size_t best = std::max_element(r.scores.begin(), r.scores.end()) - r.scores.begin();
    if (!threshold || r.scores[best] >= *threshold) r.predictions.push_back({labels[best], r.scores[best]});
  }
  r.labels = std::move(labels);
  r.logits = std::move(logits);
  return r;
}

}  // namespace gliclass::pipeline
