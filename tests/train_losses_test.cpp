// Training losses against values worked out by hand (formulas in losses.h).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "gliclass/error.h"
#include "train/losses.h"

using namespace gliclass::train;

namespace {

torch::Tensor t2(std::vector<float> v, int64_t rows) {
  const auto cols = static_cast<int64_t>(v.size()) / rows;
  return torch::tensor(v).reshape({rows, cols});
}

// Logits [0, 2, 50], targets [1, 0, 0], the third slot is padding.
//   BCE(0, 1) = log 2                      = 0.693147
//   BCE(2, 0) = 2 + log(1 + e^-2)          = 2.126928
//   gamma 2:  p_t = 0.5 -> x 0.25          = 0.173287
//             p_t = 1 - sigmoid(2) = 0.119203 -> x 0.775803 = 1.650078
//   alpha .25: x 0.25 and x 0.75           = 0.043322, 1.237559
const torch::Tensor kLogits = t2({0, 2, 50}, 1);
const torch::Tensor kTargets = t2({1, 0, 0}, 1);
const torch::Tensor kMask = t2({1, 1, 0}, 1);

}  // namespace

TEST(TrainLosses, PlainBceIsTheMeanOverRealSlots) {
  auto none = bce_loss(kLogits, kTargets, kMask, Reduction::kNone);
  EXPECT_NEAR(none[0][0].item<float>(), 0.693147f, 1e-5);
  EXPECT_NEAR(none[0][1].item<float>(), 2.126928f, 1e-5);
  EXPECT_EQ(none[0][2].item<float>(), 0.0f);  // padded slot
  EXPECT_NEAR(bce_loss(kLogits, kTargets, kMask, Reduction::kMean).item<float>(), (0.693147 + 2.126928) / 2, 1e-5);
  EXPECT_NEAR(bce_loss(kLogits, kTargets, kMask, Reduction::kSum).item<float>(), 0.693147 + 2.126928, 1e-5);
}

TEST(TrainLosses, FocalGammaAndAlphaMatchHandValues) {
  FocalOptions o;
  o.gamma = 2;
  o.reduction = Reduction::kNone;
  auto g = focal_loss(kLogits, kTargets, kMask, o);
  EXPECT_NEAR(g[0][0].item<float>(), 0.173287f, 1e-5);
  EXPECT_NEAR(g[0][1].item<float>(), 1.650078f, 1e-5);
  o.alpha = 0.25;
  auto ga = focal_loss(kLogits, kTargets, kMask, o);
  EXPECT_NEAR(ga[0][0].item<float>(), 0.043322f, 1e-5);
  EXPECT_NEAR(ga[0][1].item<float>(), 1.237559f, 1e-5);
  o.reduction = Reduction::kMean;
  EXPECT_NEAR(focal_loss(kLogits, kTargets, kMask, o).item<float>(), 0.640440f, 1e-5);
  o.reduction = Reduction::kSum;
  EXPECT_NEAR(focal_loss(kLogits, kTargets, kMask, o).item<float>(), 1.280881f, 1e-5);
}

TEST(TrainLosses, LabelSmoothingMovesTargetsTowardsAHalf) {
  // y = 1 with e = 0.1 -> 0.95: BCE(1, 0.95) = 1 - 0.95 + log(1 + e^-1) = 0.363262.
  FocalOptions o;
  o.label_smoothing = 0.1;
  auto l = focal_loss(t2({1}, 1), t2({1}, 1), t2({1}, 1), o);
  EXPECT_NEAR(l.item<float>(), 0.363262f, 1e-5);
}

TEST(TrainLosses, ConfidentAnswersCostLittleAndWrongOnesALot) {
  FocalOptions o;
  o.alpha = 0.5;
  o.gamma = 2;
  auto right = focal_loss(t2({10, -10}, 1), t2({1, 0}, 1), t2({1, 1}, 1), o).item<float>();
  auto wrong = focal_loss(t2({-10, 10}, 1), t2({1, 0}, 1), t2({1, 1}, 1), o).item<float>();
  EXPECT_LT(right, 1e-6f);
  EXPECT_GT(wrong, 1.0f);
  auto huge = focal_loss(t2({100, -100}, 1), t2({0, 1}, 1), t2({1, 1}, 1), o);
  EXPECT_TRUE(std::isfinite(huge.item<float>()));
}

TEST(TrainLosses, ContrastiveLossOverOwnLabelsOnly) {
  // Orthogonal label vectors: S = I, each row costs -1 + log(e + 1) = 1.313262 - 1 = 0.313262.
  // The padded third slot ([5, 5]) is neither a row nor a candidate.
  auto emb = torch::tensor({1.f, 0.f, 0.f, 1.f, 5.f, 5.f}).reshape({1, 3, 2});
  auto mask = t2({1, 1, 0}, 1);
  EXPECT_NEAR(contrastive_loss(emb, mask).item<float>(), 0.313262f, 1e-5);
  // Identical label vectors: S = 1 everywhere, each row costs log 2.
  auto same = torch::tensor({1.f, 0.f, 3.f, 0.f}).reshape({1, 2, 2});
  EXPECT_NEAR(contrastive_loss(same, t2({1, 1}, 1)).item<float>(), 0.693147f, 1e-5);
}

TEST(TrainLosses, SingleLabelCrossEntropyIgnoresPaddedSlots) {
  // Logits [1, 2 | 30 padded], answer 0: -1 + log(e + e^2) = log(1 + e) = 1.313262.
  auto logits = t2({1, 2, 30}, 1);
  auto l = single_label_loss(logits, torch::tensor({int64_t{0}}), t2({1, 1, 0}, 1));
  EXPECT_NEAR(l.item<float>(), 1.313262f, 1e-5);
}

TEST(TrainLosses, GradientsFlowAndMatchTheSigmoidRule) {
  // d BCE / dx = sigmoid(x) - y, divided by the 2 real slots for the mean.
  auto x = kLogits.clone().set_requires_grad(true);
  bce_loss(x, kTargets, kMask).backward();
  EXPECT_NEAR(x.grad()[0][0].item<float>(), (0.5f - 1.0f) / 2, 1e-6);
  EXPECT_NEAR(x.grad()[0][1].item<float>(), (1.0f / (1.0f + std::exp(-2.0f))) / 2, 1e-6);
  EXPECT_EQ(x.grad()[0][2].item<float>(), 0.0f);
}

TEST(TrainLosses, ModelLossAddsTheWeightedContrastiveTerm) {
  gliclass::model::ModelOutput out;
  out.logits = kLogits;
  out.class_embeddings = torch::tensor({1.f, 0.f, 0.f, 1.f, 5.f, 5.f}).reshape({1, 3, 2});
  BatchTargets t{kTargets, torch::tensor({int64_t{0}}), kMask};
  LossOptions o;
  o.contrastive_coef = 0.5;
  EXPECT_NEAR(model_loss(out, t, o).item<float>(), (0.693147 + 2.126928) / 2 + 0.5 * 0.313262, 1e-5);
  o.single_label = true;
  o.contrastive_coef = 0;
  // Answer slot 0 among [0, 2]: -0 + log(1 + e^2) = 2.126928.
  EXPECT_NEAR(model_loss(out, t, o).item<float>(), 2.126928f, 1e-5);
}

TEST(TrainLosses, BadNamesAndShapesAreInputErrors) {
  EXPECT_THROW(reduction_from_name("avg"), gliclass::InputError);
  EXPECT_THROW(bce_loss(kLogits, t2({1, 0}, 1), t2({1, 1}, 1)), gliclass::InputError);
  EXPECT_EQ(reduction_from_name("sum"), Reduction::kSum);
}
