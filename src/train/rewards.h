// Rewards for PPO over label decisions (reference.md §6). actions, targets
// and mask are [B,K] in {0,1}; labels where mask = 0 are ignored. Per sample:
//   precision = |a∧y| / |a|,  recall = |a∧y| / |y|,
//   f1 = 2|a∧y| / (|a| + |y|),  accuracy = mean over valid labels of [a = y].
// Empty sets: an empty answer to an empty truth is perfect (every reward 1;
// the reference scores f1 0 there); recall of an empty truth is 1, precision
// of an empty answer to a non-empty truth is 0.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace gliclass::train {

torch::Tensor reward_f1(const torch::Tensor& actions, const torch::Tensor& targets, const torch::Tensor& mask);
torch::Tensor reward_precision(const torch::Tensor& actions, const torch::Tensor& targets, const torch::Tensor& mask);
torch::Tensor reward_recall(const torch::Tensor& actions, const torch::Tensor& targets, const torch::Tensor& mask);
torch::Tensor reward_accuracy(const torch::Tensor& actions, const torch::Tensor& targets, const torch::Tensor& mask);

// A named reward with its weight. Names: f1, precision, recall, accuracy, and
// user (each example's own "reward" value, e.g. a reviewer's score).
struct RewardComponent {
  std::string name;
  double weight = 1;
};

// "f1=1,recall=0.5" (a bare name has weight 1); InputError on an unknown name
// or a weight that is not a number.
std::vector<RewardComponent> parse_reward_components(const std::string& spec);

// R = Σ_c w_c R_c, [B]. `user` is [B] (undefined when no example has one; the
// user component is then 0). `means` (optional) gets each component's batch mean.
torch::Tensor total_reward(const std::vector<RewardComponent>& components, const torch::Tensor& actions,
                           const torch::Tensor& targets, const torch::Tensor& mask, const torch::Tensor& user,
                           std::map<std::string, double>* means = nullptr);

}  // namespace gliclass::train
