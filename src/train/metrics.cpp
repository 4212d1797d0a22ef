#include "train/metrics.h"

#include <algorithm>
#include <tuple>

#include "gliclass/error.h"

namespace gliclass::train {
namespace {

double ratio(size_t a, size_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); }

void count(Counts& c, bool predicted, bool truth) {
  if (predicted && truth) ++c.tp;
  else if (predicted) ++c.fp;
  else if (truth) ++c.fn;
  else ++c.tn;
}

}  // namespace

double Counts::precision() const { return ratio(tp, tp + fp); }
double Counts::recall() const { return ratio(tp, tp + fn); }
double Counts::f1() const { return ratio(2 * tp, 2 * tp + fp + fn); }

std::pair<double, double> best_threshold(std::vector<std::pair<float, bool>> decisions) {
  std::sort(decisions.begin(), decisions.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t positives = 0;
  for (const auto& d : decisions) positives += d.second ? 1 : 0;
  double best_f1 = 0, best_t = 0.5;
  size_t tp = 0;
  for (size_t i = 0; i < decisions.size(); ++i) {
    tp += decisions[i].second ? 1 : 0;
    // Cut only between distinct scores: every decision at this score is predicted.
    if (i + 1 < decisions.size() && decisions[i + 1].first == decisions[i].first) continue;
    const double f1 = ratio(2 * tp, positives + i + 1);
    if (f1 > best_f1) {
      best_f1 = f1;
      best_t = decisions[i].first;
    }
  }
  return {best_t, best_f1};
}

EvalReport evaluate(const std::vector<ScoredExample>& examples, double threshold, bool single_label,
                    const std::function<bool(const std::string&)>& keep, bool single_label_threshold) {
  EvalReport r;
  r.threshold = threshold;
  std::vector<std::pair<float, bool>> decisions;
  size_t exact = 0, top1_hits = 0, top1_total = 0;
  for (size_t e = 0; e < examples.size(); ++e) {
    const auto& ex = examples[e];
    if (ex.scores.size() != ex.labels.size() || ex.truth.size() != ex.labels.size())
      throw InputError("metrics: example " + std::to_string(e) + " has " + std::to_string(ex.labels.size()) +
                       " labels but " + std::to_string(ex.scores.size()) + " scores and " +
                       std::to_string(ex.truth.size()) + " truth values");
    size_t top = 0;
    for (size_t k = 1; k < ex.scores.size(); ++k)
      if (ex.scores[k] > ex.scores[top]) top = k;
    bool all_right = true, any_kept = false;
    for (size_t k = 0; k < ex.labels.size(); ++k) {
      if (keep && !keep(ex.labels[k])) continue;
      any_kept = true;
      bool predicted = ex.scores[k] >= threshold;
      if (single_label) predicted = k == top && (!single_label_threshold || predicted);
      const bool truth = ex.truth[k];
      count(r.micro, predicted, truth);
      count(r.per_label[ex.labels[k]], predicted, truth);
      all_right = all_right && predicted == truth;
      decisions.emplace_back(ex.scores[k], truth);
    }
    if (!any_kept) continue;
    ++r.examples;
    exact += all_right ? 1 : 0;
    if (single_label && !ex.labels.empty() && (!keep || keep(ex.labels[top]))) {
      ++top1_total;
      top1_hits += ex.truth[top] ? 1 : 0;
    }
  }
  r.decisions = decisions.size();
  r.micro_precision = r.micro.precision();
  r.micro_recall = r.micro.recall();
  r.micro_f1 = r.micro.f1();
  r.accuracy = ratio(r.micro.tp + r.micro.tn, r.decisions);
  r.exact_match = ratio(exact, r.examples);
  if (single_label) r.top1_accuracy = ratio(top1_hits, top1_total);
  size_t defined = 0;
  for (const auto& [label, c] : r.per_label) {
    if (c.tp + c.fp + c.fn == 0) continue;
    ++defined;
    r.macro_precision += c.precision();
    r.macro_recall += c.recall();
    r.macro_f1 += c.f1();
  }
  if (defined) {
    r.macro_precision /= static_cast<double>(defined);
    r.macro_recall /= static_cast<double>(defined);
    r.macro_f1 /= static_cast<double>(defined);
  }
  std::tie(r.best_threshold, r.best_micro_f1) = best_threshold(std::move(decisions));
  return r;
}

}  // namespace gliclass::train
