// Metrics on a hand-made case (debtags convention: a decision per candidate).
#include <gtest/gtest.h>

#include "gliclass/error.h"
#include "train/metrics.h"

using namespace gliclass::train;

namespace {

// Example 1: a 0.9 (true), b 0.4 (true), c 0.6 (false) -> at 0.5: a TP, b FN, c FP.
// Example 2: a 0.2 (false), c 0.7 (true)               -> a TN, c TP.
std::vector<ScoredExample> cases() {
  return {{{"a", "b", "c"}, {0.9f, 0.4f, 0.6f}, {true, true, false}},
          {{"a", "c"}, {0.2f, 0.7f}, {false, true}}};
}

}  // namespace

TEST(TrainMetrics, MultiLabelCountsEveryCandidateDecision) {
  auto r = evaluate(cases(), 0.5, false);
  EXPECT_EQ(r.examples, 2u);
  EXPECT_EQ(r.decisions, 5u);
  EXPECT_EQ(r.micro.tp, 2u);
  EXPECT_EQ(r.micro.fp, 1u);
  EXPECT_EQ(r.micro.fn, 1u);
  EXPECT_EQ(r.micro.tn, 1u);
  EXPECT_NEAR(r.micro_precision, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.micro_recall, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.micro_f1, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.accuracy, 3.0 / 5, 1e-12);
  EXPECT_NEAR(r.exact_match, 0.5, 1e-12);
  // Per label: a F1 1, b F1 0, c (1 TP, 1 FP) F1 2/3.
  EXPECT_NEAR(r.per_label.at("a").f1(), 1.0, 1e-12);
  EXPECT_NEAR(r.per_label.at("b").f1(), 0.0, 1e-12);
  EXPECT_NEAR(r.per_label.at("c").f1(), 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.macro_f1, (1.0 + 0.0 + 2.0 / 3) / 3, 1e-12);
  EXPECT_NEAR(r.macro_precision, (1.0 + 0.0 + 0.5) / 3, 1e-12);
  EXPECT_NEAR(r.macro_recall, (1.0 + 0.0 + 1.0) / 3, 1e-12);
  EXPECT_FALSE(r.top1_accuracy.has_value());
}

TEST(TrainMetrics, BestThresholdIsExact) {
  // Sorted: .9 T, .7 T, .6 F, .4 T, .2 F with 3 positives; predicting the top k
  // gives F1 = 2tp/(3+k): .5, .8, .667, .857, .75 -> best 6/7 at 0.4.
  auto r = evaluate(cases(), 0.5, false);
  EXPECT_NEAR(r.best_threshold, 0.4, 1e-6);
  EXPECT_NEAR(r.best_micro_f1, 6.0 / 7, 1e-12);
  EXPECT_NEAR(evaluate(cases(), r.best_threshold, false).micro_f1, 6.0 / 7, 1e-12);
  // Tied scores are predicted together.
  auto [t, f1] = best_threshold({{0.5f, true}, {0.5f, false}, {0.1f, false}});
  EXPECT_FLOAT_EQ(static_cast<float>(t), 0.5f);
  EXPECT_NEAR(f1, 2.0 / 3, 1e-12);
}

TEST(TrainMetrics, SingleLabelPredictsTheTopLabelOnly) {
  // Example 1 -> a (true): a TP, b FN, c TN. Example 2 -> c (true): c TP, a TN.
  auto r = evaluate(cases(), 0.5, true);
  EXPECT_EQ(r.micro.tp, 2u);
  EXPECT_EQ(r.micro.fp, 0u);
  EXPECT_EQ(r.micro.fn, 1u);
  EXPECT_EQ(r.micro.tn, 2u);
  ASSERT_TRUE(r.top1_accuracy.has_value());
  EXPECT_NEAR(*r.top1_accuracy, 1.0, 1e-12);
}

TEST(TrainMetrics, KeepRestrictsToSomeLabels) {
  // Only "c": example 1 FP, example 2 TP.
  auto r = evaluate(cases(), 0.5, false, [](const std::string& l) { return l == "c"; });
  EXPECT_EQ(r.decisions, 2u);
  EXPECT_NEAR(r.micro_precision, 0.5, 1e-12);
  EXPECT_NEAR(r.micro_recall, 1.0, 1e-12);
  EXPECT_EQ(r.per_label.size(), 1u);
}

TEST(TrainMetrics, MismatchedSizesAreAnError) {
  EXPECT_THROW(evaluate({{{"a"}, {0.1f, 0.2f}, {true}}}, 0.5, false), gliclass::InputError);
}
