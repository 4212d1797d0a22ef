// One optimisation step on the golden tiny checkpoints: the loss goes down and
// a parameter moves exactly as AdamW's formula says for its gradient.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "io/config.h"
#include "test_util.h"
#include "tokenize/tokenizer.h"
#include "train/batch.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/losses.h"
#include "train/optimizer.h"

using namespace gliclass;
using namespace gliclass::train;

namespace {

std::vector<TrainExample> two_examples() {
  return parse_examples(
      R"({"text": "The match ended two to one after extra time.", "all_labels": ["sports", "politics", "cooking"], "true_labels": ["sports"]}
{"text": "Parliament passed the budget late on Friday.", "all_labels": ["economy", "politics"], "true_labels": {"politics": 1.0, "economy": 0.6}}
)",
      "step-test");
}

// Golden uni-encoder cases whose tokenizer this build can read.
std::vector<std::string> trainable_cases() {
  std::vector<std::string> out;
  for (const auto& name : gliclass::testing::golden_cases("uni-encoder", "")) {
    try {
      tokenize::Tokenizer::from_dir(gliclass::testing::golden_dir() / name);
      out.push_back(name);
    } catch (const Error&) {  // a tokenizer kind this build does not read yet
    }
  }
  return out;
}

}  // namespace

TEST(TrainStep, OneAdamWStepLowersTheLossAsTheFormulaSays) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto cases = trainable_cases();
  ASSERT_FALSE(cases.empty());
  for (const auto& name : cases) {
    SCOPED_TRACE(name);
    const auto dir = gliclass::testing::golden_dir() / name;
    const auto config = io::GLiClassConfig::from_file(dir / "config.json");
    auto tokenizer = tokenize::Tokenizer::from_dir(dir);
    auto model = load_trainable_model(dir, config);
    model->eval();  // no dropout: the step is deterministic
    auto batch = make_batch(two_examples(), *tokenizer, config, 512, false,
                            config.pad_token_id.value_or(tokenizer->pad_id()));
    LossOptions loss_options;  // plain BCE, mean over real label slots

    OptimizerOptions o;
    o.encoder_lr = 1e-4;
    o.others_lr = 2e-4;
    o.encoder_weight_decay = 0.01;
    o.others_weight_decay = 0.02;
    AdamW optimizer(parameter_groups(*model, o), o);

    auto loss0 = model_loss(model->forward(batch.input), batch.targets, loss_options);
    loss0.backward();
    // The weight of the text projector's first layer, before the step.
    const ParamSlot* slot = nullptr;
    for (const auto& s : optimizer.slots())
      if (s.name == "text_projector.linear_1.weight") slot = &s;
    ASSERT_NE(slot, nullptr);
    const auto before = slot->param.detach().clone();
    const auto grad = slot->param.grad().detach().clone();
    ASSERT_GT(grad.abs().max().item<float>(), 0.0f);

    optimizer.step(1.0);
    optimizer.zero_grad();

    // First AdamW step (t = 1): m = (1-b1) g, v = (1-b2) g^2, so
    //   p1 = p0 (1 - lr wd) - lr * g / (|g| + eps)
    const double lr = o.others_lr, wd = o.others_weight_decay;
    auto expected = before * (1 - lr * wd) - lr * (grad * (1 - o.beta1) / (1 - o.beta1)) /
                                                 ((grad * grad * (1 - o.beta2) / (1 - o.beta2)).sqrt() + o.eps);
    const double diff = (slot->param.detach() - expected).abs().max().item<double>();
    EXPECT_LT(diff, 1e-7) << "max |p - AdamW(p)| = " << diff;

    torch::NoGradGuard no_grad;
    auto loss1 = model_loss(model->forward(batch.input), batch.targets, loss_options);
    EXPECT_LT(loss1.item<double>(), loss0.item<double>()) << "loss " << loss0.item<double>() << " -> "
                                                          << loss1.item<double>();
  }
}

TEST(TrainStep, BatchTargetsFollowTheCandidates) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto dir = gliclass::testing::golden_dir() / "deberta_first_simple_pf";
  const auto config = io::GLiClassConfig::from_file(dir / "config.json");
  auto tokenizer = tokenize::Tokenizer::from_dir(dir);
  auto batch = make_batch(two_examples(), *tokenizer, config, 512, true, 0);
  ASSERT_EQ(batch.input.num_classes, 3);
  EXPECT_TRUE(torch::equal(batch.targets.mask, torch::tensor({1.f, 1.f, 1.f, 1.f, 1.f, 0.f}).reshape({2, 3})));
  EXPECT_TRUE(torch::allclose(batch.targets.targets,
                              torch::tensor({1.f, 0.f, 0.f, 0.6f, 1.f, 0.f}).reshape({2, 3})));
  EXPECT_EQ(batch.targets.index[0].item<int64_t>(), 0);
  EXPECT_EQ(batch.targets.index[1].item<int64_t>(), 1);  // the top-scored true label
  // As many <<LABEL>> tokens per row as candidates.
  auto labels = (batch.input.input_ids == config.class_token_index).sum(1);
  EXPECT_EQ(labels[0].item<int64_t>(), 3);
  EXPECT_EQ(labels[1].item<int64_t>(), 2);
}

TEST(TrainStep, ExamplesWhoseLabelsCannotFitAreAnErrorOrLeftOut) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto dir = gliclass::testing::golden_dir() / "deberta_first_simple_pf";
  const auto config = io::GLiClassConfig::from_file(dir / "config.json");
  auto tokenizer = tokenize::Tokenizer::from_dir(dir);
  auto examples = two_examples();
  std::string long_label;
  for (int i = 0; i < 12; ++i) long_label += "a label far too long for the window ";
  examples[1].all_labels.push_back(long_label);
  EXPECT_THROW(make_batch(examples, *tokenizer, config, 40, false, 0), InputError);
  std::vector<size_t> dropped;
  auto batch = make_batch(examples, *tokenizer, config, 40, false, 0, &dropped);
  EXPECT_EQ(dropped, (std::vector<size_t>{2}));
  ASSERT_TRUE(batch.input.input_ids.defined());
  EXPECT_EQ(batch.input.input_ids.size(0), 1);
  EXPECT_EQ(batch.input.num_classes, 3);
  EXPECT_LE(batch.input.input_ids.size(1), 40);
}
