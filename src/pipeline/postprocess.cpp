#include "pipeline/postprocess.h"

#include <algorithm>
#include <cmath>

namespace gliclass::pipeline {
namespace {

std::vector<float> probabilities(const std::vector<float>& logits, ClassificationType type) {
  std::vector<float> p(logits.size());
  if (logits.empty()) return p;
  if (type == ClassificationType::kMultiLabel) {
    for (size_t i = 0; i < logits.size(); ++i) p[i] = 1.0f / (1.0f + std::exp(-logits[i]));
    return p;
  }
  // softmax(x)_i = exp(x_i - max) / sum_j exp(x_j - max)
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) sum += (p[i] = std::exp(logits[i] - mx));
  for (auto& s : p) s = static_cast<float>(s / sum);
  return p;
}

// Per label: max or mean over windows; single-label renormalised to sum 1.
std::vector<float> combine_windows(const std::vector<std::vector<float>>& window_logits, ClassificationType type,
                                   WindowCombine combine) {
  std::vector<float> out = probabilities(window_logits.front(), type);
  if (window_logits.size() == 1) return out;
  std::vector<double> acc(out.begin(), out.end());
  for (size_t w = 1; w < window_logits.size(); ++w) {
    const auto p = probabilities(window_logits[w], type);
    for (size_t k = 0; k < p.size(); ++k) acc[k] = combine == WindowCombine::kMax ? std::max(acc[k], double(p[k]))
                                                                                   : acc[k] + p[k];
  }
  double sum = 0;
  for (auto& a : acc) {
    if (combine == WindowCombine::kMean) a /= static_cast<double>(window_logits.size());
    sum += a;
  }
  for (size_t k = 0; k < acc.size(); ++k)
    out[k] = static_cast<float>(type == ClassificationType::kSingleLabel && sum > 0 ? acc[k] / sum : acc[k]);
  return out;
}

}  // namespace

ClassifyResult make_result(std::vector<std::string> labels, const std::vector<std::vector<float>>& window_logits,
                           ClassificationType type, std::optional<float> threshold, WindowCombine combine) {
  ClassifyResult r;
  r.scores = combine_windows(window_logits, type, combine);
  r.logits = window_logits.front();
  for (size_t w = 1; w < window_logits.size(); ++w)
    for (size_t k = 0; k < r.logits.size(); ++k) r.logits[k] = std::max(r.logits[k], window_logits[w][k]);
  r.windows = window_logits.size();
  if (type == ClassificationType::kMultiLabel) {
    const float t = threshold.value_or(kDefaultThreshold);
    for (size_t i = 0; i < r.scores.size(); ++i)
      if (r.scores[i] >= t) r.predictions.push_back({labels[i], r.scores[i]});
    std::stable_sort(r.predictions.begin(), r.predictions.end(),
                     [](const LabelScore& a, const LabelScore& b) { return a.score > b.score; });
  } else if (!r.scores.empty()) {
    const size_t best = std::max_element(r.scores.begin(), r.scores.end()) - r.scores.begin();
    if (!threshold || r.scores[best] >= *threshold) r.predictions.push_back({labels[best], r.scores[best]});
  }
  r.labels = std::move(labels);
  return r;
}

}  // namespace gliclass::pipeline
