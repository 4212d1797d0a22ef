// PPO for multi-label classification (issue "PPO"): the objective and the
// rewards on hand-made tensors, feedback files, and a short train-rl run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "test_util.h"
#include "weights_util.h"
#include "train/data.h"
#include "train/ppo.h"
#include "train/rewards.h"
#include "train/rl_trainer.h"

using namespace gliclass;
using namespace gliclass::train;
using gliclass::testing::TempDir;

namespace {

torch::Tensor rows(std::vector<float> v, int64_t k) { return torch::tensor(v).view({-1, k}); }

const torch::Tensor kLogits = rows({2.0f, -1.0f, 0.5f, -3.0f, 1.0f, 0.0f}, 3);
const torch::Tensor kActions = rows({1, 0, 1, 0, 1, 0}, 3);
const torch::Tensor kTargets = rows({1, 0, 0, 0, 1, 1}, 3);
const torch::Tensor kMask = rows({1, 1, 1, 1, 1, 0}, 3);

}  // namespace

TEST(Ppo, TheRatioIsOneAtTheFirstIteration) {
  const auto adv = torch::tensor({0.5f, -0.25f});
  const auto t = ppo_objective(kLogits, kActions, kTargets, kMask, adv, {}, {}, PpoOptions{});
  EXPECT_DOUBLE_EQ(t.mean_ratio, 1.0);
  EXPECT_DOUBLE_EQ(t.clip_fraction, 0.0);
  // With r = 1: L = -Σ_b A_b · (valid labels of b) / B.
  EXPECT_NEAR(t.loss.item<double>(), -(0.5 * 3 + -0.25 * 2) / 2, 1e-6);
  // logπ = a log p + (1 - a) log(1 - p)
  const auto p = torch::sigmoid(kLogits);
  EXPECT_TRUE(torch::allclose(t.log_probs, kActions * torch::log(p + 1e-8) + (1 - kActions) * torch::log(1 - p + 1e-8)));
}

TEST(Ppo, ClippingEngagesBeyondEpsilon) {
  PpoOptions o;
  o.clip = 0.2;
  const auto adv = torch::tensor({1.0f, 1.0f});
  const auto base = ppo_objective(kLogits, kActions, kTargets, kMask, adv, {}, {}, o);
  // logπ_prev lower by log 2: r = 2 everywhere, clipped to 1.2 for a positive advantage.
  const auto far = ppo_objective(kLogits, kActions, kTargets, kMask, adv, base.log_probs - std::log(2.0), {}, o);
  EXPECT_NEAR(far.mean_ratio, 2.0, 1e-5);
  EXPECT_DOUBLE_EQ(far.clip_fraction, 1.0);
  EXPECT_NEAR(far.loss.item<double>(), -1.2 * 5 / 2, 1e-5);
  // Inside the range nothing is clipped: r = 1.1.
  const auto near = ppo_objective(kLogits, kActions, kTargets, kMask, adv, base.log_probs - std::log(1.1), {}, o);
  EXPECT_DOUBLE_EQ(near.clip_fraction, 0.0);
  EXPECT_NEAR(near.loss.item<double>(), -1.1 * 5 / 2, 1e-5);
  // A negative advantage takes the pessimistic side: min(r A, clip(r) A) = r A at r = 2.
  const auto neg = ppo_objective(kLogits, kActions, kTargets, kMask, -adv, base.log_probs - std::log(2.0), {}, o);
  EXPECT_NEAR(neg.loss.item<double>(), 2.0 * 5 / 2, 1e-5);
}

TEST(Ppo, KlIsZeroAgainstItselfAndPositiveOtherwise) {
  PpoOptions o;
  o.kl_beta = 0.5;
  const auto adv = torch::zeros({2});
  // The same policy as reference: KL 0 for every action, taken or not.
  const auto self = ppo_objective(kLogits, kActions, kTargets, kMask, adv, {}, torch::sigmoid(kLogits), o);
  EXPECT_NEAR(self.kl, 0.0, 1e-6);
  EXPECT_NEAR(self.loss.item<double>(), 0.0, 1e-6);
  const auto other = ppo_objective(kLogits, kActions, kTargets, kMask, adv, {}, torch::sigmoid(kLogits + 1.0), o);
  EXPECT_GT(other.kl, 1e-3);
  EXPECT_NEAR(other.loss.item<double>(), 0.5 * other.kl, 1e-6);
}

TEST(Ppo, EntropyIsABonusOnlyWhenAskedFor) {
  const auto adv = torch::zeros({2});
  const auto off = ppo_objective(kLogits, kActions, kTargets, kMask, adv, {}, {}, PpoOptions{});
  EXPECT_NEAR(off.loss.item<double>(), 0.0, 1e-7);
  EXPECT_GT(off.entropy, 0.0);
  PpoOptions o;
  o.entropy_beta = 0.1;
  const auto on = ppo_objective(kLogits, kActions, kTargets, kMask, adv, {}, {}, o);
  EXPECT_NEAR(on.loss.item<double>(), -0.1 * on.entropy, 1e-6);
}

TEST(Ppo, GradientsFlowToTheLogitsOnlyThroughValidLabels) {
  auto logits = kLogits.clone().requires_grad_(true);
  const auto t = ppo_objective(logits, kActions, kTargets, kMask, torch::tensor({1.0f, -1.0f}), {}, {}, PpoOptions{});
  t.loss.backward();
  EXPECT_EQ(logits.grad()[1][2].item<float>(), 0.0f);  // masked
  EXPECT_NE(logits.grad()[0][0].item<float>(), 0.0f);
}

TEST(Rewards, PerfectIsOneDisjointIsZeroMaskedLabelsIgnored) {
  const auto y = rows({1, 0, 1, 0}, 4);
  const auto all = torch::ones({1, 4});
  for (auto* fn : {&reward_f1, &reward_precision, &reward_recall, &reward_accuracy})
    EXPECT_FLOAT_EQ((*fn)(y, y, all).item<float>(), 1.0f);
  const auto disjoint = rows({0, 1, 0, 1}, 4);
  for (auto* fn : {&reward_f1, &reward_precision, &reward_recall, &reward_accuracy})
    EXPECT_FLOAT_EQ((*fn)(disjoint, y, all).item<float>(), 0.0f);
  // A wrong decision on a masked label changes nothing.
  const auto mask = rows({1, 1, 1, 0}, 4);
  const auto extra = rows({1, 0, 1, 1}, 4);
  EXPECT_FLOAT_EQ(reward_f1(extra, y, mask).item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(reward_accuracy(extra, y, mask).item<float>(), 1.0f);
  // Partial: a = {0, 1}, y = {0, 2}: precision 1/2, recall 1/2, f1 1/2, accuracy 2/4.
  const auto half = rows({1, 1, 0, 0}, 4);
  EXPECT_FLOAT_EQ(reward_f1(half, y, all).item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(reward_precision(half, y, all).item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(reward_recall(half, y, all).item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(reward_accuracy(half, y, all).item<float>(), 0.5f);
  // Empty answer to an empty truth: perfect.
  EXPECT_FLOAT_EQ(reward_f1(torch::zeros({1, 4}), torch::zeros({1, 4}), all).item<float>(), 1.0f);
}

TEST(Rewards, ComponentsAreWeightedAndNamed) {
  const auto parts = parse_reward_components("f1=1,recall=0.5,user");
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].name, "recall");
  EXPECT_DOUBLE_EQ(parts[1].weight, 0.5);
  EXPECT_DOUBLE_EQ(parts[2].weight, 1.0);
  EXPECT_THROW(parse_reward_components("f2=1"), InputError);
  EXPECT_THROW(parse_reward_components("f1=lots"), InputError);
  const auto y = rows({1, 0, 1, 0}, 4), a = rows({1, 1, 0, 0}, 4);
  std::map<std::string, double> means;
  const auto r = total_reward(parts, a, y, torch::ones({1, 4}), torch::tensor({0.2f}), &means);
  EXPECT_NEAR(r.item<float>(), 0.5 + 0.5 * 0.5 + 0.2, 1e-6);
  EXPECT_NEAR(means.at("user"), 0.2, 1e-6);
}

TEST(Feedback, JudgementsBecomeTargetsAndMasks) {
  TempDir dir("feedback");
  dir.write("fb.jsonl",
            R"({"text": "The parcel never came.", "labels": ["shipping", "billing"], "accepted": ["shipping"], "rejected": ["billing", "refund"], "score": 0.5})"
            "\n"
            R"({"text": "Hi.", "labels": ["greeting", "spam"], "accepted": ["greeting"]})"
            "\n");
  const auto fb = load_feedback(dir.path / "fb.jsonl");
  ASSERT_EQ(fb.size(), 2u);
  EXPECT_EQ(fb[0].example.all_labels, (std::vector<std::string>{"shipping", "billing", "refund"}));
  EXPECT_EQ(fb[0].judged, (std::vector<bool>{true, true, true}));
  EXPECT_FLOAT_EQ(fb[0].example.target("shipping"), 1.0f);
  EXPECT_FLOAT_EQ(fb[0].example.target("billing"), 0.0f);
  EXPECT_FLOAT_EQ(*fb[0].reward, 0.5f);
  EXPECT_EQ(fb[1].judged, (std::vector<bool>{true, false}));  // spam was shown but not judged
  EXPECT_FALSE(fb[1].reward);

  dir.write("bad.jsonl", R"({"text": "x", "labels": ["a"], "accepted": ["a"], "rejected": ["a"]})" "\n");
  try {
    load_feedback(dir.path / "bad.jsonl");
    FAIL() << "a label both accepted and rejected was taken";
  } catch (const InputError& e) {
    EXPECT_TRUE(gliclass::testing::contains(e.what(), "line 1")) << e.what();
  }
  dir.write("none.jsonl", R"({"text": "x", "labels": ["a"]})" "\n");
  EXPECT_THROW(load_feedback(dir.path / "none.jsonl"), InputError);
}

std::string rl_data() {
  std::string data;
  for (int i = 0; i < 4; ++i)
    data += R"({"text": "The striker scored twice in the derby.", "all_labels": ["sports", "politics", "music"], "true_labels": ["sports"]}
{"text": "A new tax bill was debated in parliament.", "all_labels": ["politics", "sports", "music"], "true_labels": ["politics"]}
)";
  return data;
}

TEST(TrainRl, AShortRunRaisesTheRewardOnItsOwnData) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir dir("train_rl");
  dir.write("train.jsonl", rl_data());
  RlOptions o;
  o.model_dir = gliclass::testing::golden_dir() / "deberta_first_simple_pf";
  o.train_file = dir.path / "train.jsonl";
  o.dev_file = dir.path / "train.jsonl";
  o.out_dir = dir.path / "out";
  o.max_steps = 12;
  o.batch_size = 8;
  o.max_length = 128;
  o.optimizer.encoder_lr = 1e-3;
  o.optimizer.others_lr = 1e-2;
  o.ppo.kl_beta = 0.01;
  o.value_model = true;
  o.log_steps = 1;
  o.quiet = true;
  const auto s = run_rl_training(o);
  EXPECT_EQ(s.steps, 12);
  ASSERT_TRUE(s.last_eval);
  EXPECT_TRUE(std::filesystem::exists(s.last_dir / "model.safetensors"));
  // metrics.jsonl: one line per logged step with reward, KL, clip fraction, value loss, entropy.
  std::ifstream in(o.out_dir / "metrics.jsonl");
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  ASSERT_GE(lines.size(), 12u);
  for (const char* key : {"reward", "reward_f1", "kl", "clip_fraction", "value_loss", "entropy"})
    EXPECT_TRUE(lines.front().contains(key)) << key;
  const double first = lines.front()["reward"].get<double>();
  double last = 0;
  for (size_t i = 8; i < 12; ++i) last += lines[i]["reward"].get<double>() / 4;
  EXPECT_GT(last, first) << "PPO did not raise the F1 reward on its own training data";
}

// Stopped after 3 of 6 batches and resumed: the same weights, value model and
// optimizer moments as one uninterrupted run (sampled actions included).
TEST(TrainRl, ResumedRunEndsWhereAnUninterruptedOneDoes) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir dir("train_rl_resume");
  dir.write("train.jsonl", rl_data());
  auto options = [&](const char* out) {
    RlOptions o;
    o.model_dir = gliclass::testing::golden_dir() / "deberta_first_simple_pf";
    o.train_file = dir.path / "train.jsonl";
    o.out_dir = dir.path / out;
    o.max_steps = 6;
    o.batch_size = 3;  // 8 examples: the epoch turns mid-run
    o.max_length = 128;
    o.optimizer.others_lr = 1e-2;
    o.ppo.kl_beta = 0.01;
    o.value_model = true;
    o.log_steps = 1;
    o.save_steps = 0;
    o.quiet = true;
    return o;
  };
  const auto whole = run_rl_training(options("whole"));
  EXPECT_FALSE(whole.interrupted);
  auto first = options("split");
  first.stop_at_step = 3;
  const auto part = run_rl_training(first);
  EXPECT_TRUE(part.interrupted);
  EXPECT_EQ(part.steps, 3);
  auto second = options("split");
  second.resume = true;
  const auto rest = run_rl_training(second);
  EXPECT_FALSE(rest.interrupted);
  EXPECT_EQ(rest.steps, 6);
  using gliclass::testing::max_diff;
  using gliclass::testing::read_all;
  for (const char* file : {"model.safetensors", "optimizer.safetensors", "rl_state.safetensors"})
    EXPECT_EQ(max_diff(read_all(dir.path / "whole/last" / file), read_all(dir.path / "split/last" / file)), 0.0)
        << file;
  EXPECT_GT(max_diff(read_all(dir.path / "whole/last/model.safetensors"),
                     read_all(gliclass::testing::golden_dir() / "deberta_first_simple_pf/model.safetensors")),
            0.0);
  // Another batch size is refused, naming it.
  auto other = options("split");
  other.resume = true;
  other.batch_size = 4;
  try {
    run_rl_training(other);
    FAIL() << "resumed with another batch size";
  } catch (const InputError& e) {
    EXPECT_TRUE(gliclass::testing::contains(e.what(), "batch size")) << e.what();
  }
}
