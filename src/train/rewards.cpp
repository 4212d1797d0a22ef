#include "train/rewards.h"

#include <algorithm>
#include <sstream>

#include "gliclass/error.h"

namespace gliclass::train {
namespace {

struct SetCounts {
  torch::Tensor hit, predicted, truth;  // [B] |a∧y|, |a|, |y|
};

SetCounts counts(const torch::Tensor& actions, const torch::Tensor& targets, const torch::Tensor& mask) {
  const auto a = (actions > 0.5).to(torch::kFloat) * mask;
  const auto y = (targets > 0.5).to(torch::kFloat) * mask;
  return {(a * y).sum(-1), a.sum(-1), y.sum(-1)};
}

// num / den where den > 0, else `empty`.
torch::Tensor ratio_or(const torch::Tensor& num, const torch::Tensor& den, const torch::Tensor& empty) {
  return torch::where(den > 0, num / den.clamp_min(1), empty);
}

}  // namespace

torch::Tensor reward_f1(const torch::Tensor& actions, const torch::Tensor& targets, const torch::Tensor& mask) {
  const auto c = counts(actions, targets, mask);
  return ratio_or(2 * c.hit, c.predicted + c.truth, torch::ones_like(c.hit));
}

torch::Tensor reward_precision(const torch::Tensor& actions, const torch::Tensor& targets, const torch::Tensor& mask) {
  const auto c = counts(actions, targets, mask);
  return ratio_or(c.hit, c.predicted, (c.truth == 0).to(torch::kFloat));
}

torch::Tensor reward_recall(const torch::Tensor& actions, const torch::Tensor& targets, const torch::Tensor& mask) {
  const auto c = counts(actions, targets, mask);
  return ratio_or(c.hit, c.truth, torch::ones_like(c.hit));
}

torch::Tensor reward_accuracy(const torch::Tensor& actions, const torch::Tensor& targets, const torch::Tensor& mask) {
  const auto same = ((actions > 0.5) == (targets > 0.5)).to(torch::kFloat) * mask;
  const auto valid = mask.sum(-1);
  return ratio_or(same.sum(-1), valid, torch::ones_like(valid));
}

std::vector<RewardComponent> parse_reward_components(const std::string& spec) {
  static const char* const kNames[] = {"f1", "precision", "recall", "accuracy", "user"};
  std::vector<RewardComponent> out;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    RewardComponent c;
    const auto eq = item.find('=');
    c.name = item.substr(0, eq);
    if (std::find(std::begin(kNames), std::end(kNames), c.name) == std::end(kNames))
      throw InputError("rl: unknown reward '" + c.name + "' (expected f1, precision, recall, accuracy or user)");
    if (eq != std::string::npos) {
      try {
        size_t used = 0;
        c.weight = std::stod(item.substr(eq + 1), &used);
        if (used != item.size() - eq - 1) throw std::invalid_argument("trailing characters");
      } catch (const std::logic_error&) {
        throw InputError("rl: the weight of reward '" + c.name + "' is not a number: '" + item.substr(eq + 1) + "'");
      }
    }
    out.push_back(c);
  }
  if (out.empty()) throw InputError("rl: no reward components in '" + spec + "'");
  return out;
}

torch::Tensor total_reward(const std::vector<RewardComponent>& components, const torch::Tensor& actions,
                           const torch::Tensor& targets, const torch::Tensor& mask, const torch::Tensor& user,
                           std::map<std::string, double>* means) {
  torch::NoGradGuard no_grad;
  auto total = torch::zeros({actions.size(0)});
  for (const auto& c : components) {
    torch::Tensor r;
    if (c.name == "f1") r = reward_f1(actions, targets, mask);
    else if (c.name == "precision") r = reward_precision(actions, targets, mask);
    else if (c.name == "recall") r = reward_recall(actions, targets, mask);
    else if (c.name == "accuracy") r = reward_accuracy(actions, targets, mask);
    else r = user.defined() ? user : torch::zeros({actions.size(0)});
    if (means) (*means)[c.name] = r.mean().item<double>();
    total += c.weight * r;
  }
  return total;
}

}  // namespace gliclass::train
