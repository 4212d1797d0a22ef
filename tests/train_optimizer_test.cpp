// AdamW, schedules, clipping and the reference's parameter groups.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "gliclass/error.h"
#include "io/config.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

using namespace gliclass::train;

namespace {

ParamSlot scalar_slot(float value, double lr, double wd) {
  ParamSlot s;
  s.name = "w";
  s.param = torch::tensor({value}).set_requires_grad(true);
  s.lr = lr;
  s.weight_decay = wd;
  return s;
}

void set_grad(ParamSlot& s, float g) { s.param.mutable_grad() = torch::tensor({g}); }

}  // namespace

TEST(TrainOptimizer, AdamWMatchesTheFormulaByHand) {
  // p = 1, lr 0.1, wd 0.01, b = (0.9, 0.999), eps 1e-8, gradients 0.5 then -0.2:
  //  t=1: p = 0.999; m = 0.05; v = 2.5e-4; p -= 0.1/0.1 * 0.05 / (sqrt(2.5e-4/1e-3) + eps) -> 0.899000002
  //  t=2: p = 0.898101; m = 0.025; v = 2.8975e-4; bc = (0.19, 0.001999) -> 0.8635404181
  OptimizerOptions o;
  AdamW opt({scalar_slot(1.0f, 0.1, 0.01)}, o);
  set_grad(opt.slots()[0], 0.5f);
  opt.step(1.0);
  EXPECT_NEAR(opt.slots()[0].param.item<float>(), 0.899000002f, 1e-6);
  set_grad(opt.slots()[0], -0.2f);
  opt.step(1.0);
  EXPECT_NEAR(opt.slots()[0].param.item<float>(), 0.8635404181f, 1e-6);
  EXPECT_EQ(opt.slots()[0].step, 2);
  EXPECT_NEAR(opt.slots()[0].exp_avg.item<float>(), 0.025f, 1e-7);
  EXPECT_NEAR(opt.slots()[0].exp_avg_sq.item<float>(), 2.8975e-4f, 1e-9);
}

TEST(TrainOptimizer, TheMultiplierScalesTheLearningRateAndNoGradientSkips) {
  OptimizerOptions o;
  AdamW opt({scalar_slot(1.0f, 0.1, 0.0), scalar_slot(1.0f, 0.1, 0.0)}, o);
  set_grad(opt.slots()[0], 0.5f);
  opt.step(0.5);  // first step moves by lr * mult * sign(g) (up to eps)
  EXPECT_NEAR(opt.slots()[0].param.item<float>(), 1.0f - 0.05f, 1e-6);
  EXPECT_EQ(opt.slots()[1].param.item<float>(), 1.0f);
  EXPECT_EQ(opt.slots()[1].step, 0);
  opt.zero_grad();
  EXPECT_FALSE(opt.slots()[0].param.grad().defined());
}

TEST(TrainOptimizer, StateRoundTripsByName) {
  OptimizerOptions o;
  AdamW a({scalar_slot(1.0f, 0.1, 0.01)}, o);
  set_grad(a.slots()[0], 0.3f);
  a.step(1.0);
  AdamW b({scalar_slot(1.0f, 0.1, 0.01)}, o);
  b.load_state(a.state());
  EXPECT_EQ(b.slots()[0].step, 1);
  EXPECT_TRUE(torch::equal(a.slots()[0].exp_avg, b.slots()[0].exp_avg));
  EXPECT_TRUE(torch::equal(a.slots()[0].exp_avg_sq, b.slots()[0].exp_avg_sq));
  auto state = a.state();
  state.erase(state.begin());
  EXPECT_THROW(b.load_state(state), gliclass::ModelError);
}

TEST(TrainOptimizer, SchedulesFollowHuggingFace) {
  // warmup 2 of 10: 0, .5, then linear (10 - s) / 8.
  const double linear[] = {0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0.0};
  for (int s = 0; s <= 10; ++s) EXPECT_NEAR(lr_multiplier(Schedule::kLinear, s, 2, 10), linear[s], 1e-12) << s;
  // cosine: 0.5 (1 + cos(pi (s - 2) / 8)).
  EXPECT_NEAR(lr_multiplier(Schedule::kCosine, 2, 2, 10), 1.0, 1e-12);
  EXPECT_NEAR(lr_multiplier(Schedule::kCosine, 4, 2, 10), 0.8535533905932737, 1e-12);
  EXPECT_NEAR(lr_multiplier(Schedule::kCosine, 6, 2, 10), 0.5, 1e-12);
  EXPECT_NEAR(lr_multiplier(Schedule::kCosine, 10, 2, 10), 0.0, 1e-12);
  EXPECT_NEAR(lr_multiplier(Schedule::kConstant, 7, 2, 10), 1.0, 1e-12);
  EXPECT_NEAR(lr_multiplier(Schedule::kLinear, 0, 0, 10), 1.0, 1e-12);
  EXPECT_THROW(schedule_from_name("step"), gliclass::InputError);
}

TEST(TrainOptimizer, ClippingScalesToTheMaxNorm) {
  std::vector<ParamSlot> slots{scalar_slot(0, 0, 0), scalar_slot(0, 0, 0)};
  set_grad(slots[0], 3.0f);
  set_grad(slots[1], 4.0f);
  EXPECT_NEAR(clip_grad_norm(slots, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(slots[0].param.grad().item<float>(), 3.0f / (5.0f + 1e-6f), 1e-6);
  EXPECT_NEAR(slots[1].param.grad().item<float>(), 4.0f / (5.0f + 1e-6f), 1e-6);
  EXPECT_NEAR(clip_grad_norm(slots, 10.0), 1.0, 1e-5);  // under the limit: unchanged
  EXPECT_NEAR(slots[1].param.grad().item<float>(), 0.8f, 1e-5);
}

TEST(TrainOptimizer, ReferenceParameterGroupsOnAGoldenModel) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto dir = gliclass::testing::golden_dir() / "deberta_first_simple_pf";
  auto model = load_trainable_model(dir, gliclass::io::GLiClassConfig::from_file(dir / "config.json"));
  OptimizerOptions o;
  o.encoder_lr = 1;
  o.others_lr = 2;
  o.encoder_weight_decay = 0.1;
  o.others_weight_decay = 0.2;
  auto slots = parameter_groups(*model, o);
  EXPECT_EQ(slots.size(), model->parameters().size());
  std::map<std::string, const ParamSlot*> by_name;
  for (const auto& s : slots) by_name[s.name] = &s;
  auto expect = [&](const std::string& name, double lr, double wd) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_EQ(by_name[name]->lr, lr) << name;
    EXPECT_EQ(by_name[name]->weight_decay, wd) << name;
  };
  expect("encoder_model.embeddings.word_embeddings.weight", 1, 0.1);
  expect("encoder_model.embeddings.LayerNorm.weight", 1, 0);
  expect("encoder_model.embeddings.LayerNorm.bias", 1, 0);
  expect("encoder_model.encoder.layer.0.attention.self.query_proj.weight", 1, 0.1);
  expect("encoder_model.encoder.layer.0.attention.self.query_proj.bias", 1, 0);
  expect("text_projector.linear_1.weight", 2, 0.2);
  expect("text_projector.linear_1.bias", 2, 0);
  expect("logit_scale", 2, 0.2);
}
