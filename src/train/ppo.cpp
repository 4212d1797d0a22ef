#include "train/ppo.h"

namespace gliclass::train {

constexpr double kEps = 1e-8;

torch::Tensor sample_actions(const torch::Tensor& probs, const PpoOptions& options) {
  torch::NoGradGuard no_grad;
  if (options.actions == "threshold") return (probs > options.threshold).to(torch::kFloat);
  return torch::bernoulli(probs.detach());
}

torch::Tensor action_log_probs(const torch::Tensor& probs, const torch::Tensor& actions, double label_smoothing) {
  const auto a = label_smoothing > 0 ? actions * (1 - label_smoothing) + 0.5 * label_smoothing : actions;
  return a * torch::log(probs + kEps) + (1 - a) * torch::log(1 - probs + kEps);
}

PpoTerms ppo_objective(const torch::Tensor& logits, const torch::Tensor& actions, const torch::Tensor& targets,
                       const torch::Tensor& mask, const torch::Tensor& advantages,
                       const torch::Tensor& prev_log_probs, const torch::Tensor& reference_probs,
                       const PpoOptions& o) {
  const auto probs = torch::sigmoid(logits);
  const auto log_probs = action_log_probs(probs, actions, o.label_smoothing);
  const auto prev = prev_log_probs.defined() ? prev_log_probs : log_probs.detach();
  const auto ratio = torch::exp(log_probs - prev);
  const auto adv = advantages.detach().unsqueeze(-1);  // [B,1] over the labels
  const auto clipped = torch::clamp(ratio, 1 - o.clip, 1 + o.clip);
  auto per_label = -torch::min(ratio * adv, clipped * adv) * mask;
  if (o.focal_gamma > 0) {
    const auto p_t = probs * targets + (1 - probs) * (1 - targets);
    per_label = per_label * p_t.pow(o.focal_gamma);
  }
  if (o.focal_alpha >= 0) per_label = per_label * (o.focal_alpha * targets + (1 - o.focal_alpha) * (1 - targets));
  const double batch = static_cast<double>(logits.size(0));
  auto loss = per_label.sum() / batch;

  PpoTerms t;
  const double valid = std::max(1.0, mask.sum().item<double>());
  t.policy_loss = loss.item<double>();
  if (reference_probs.defined()) {
    // k3 estimator of KL(π || π_ref) per label, q = log π_ref(a) of the same
    // action: e^{q - logπ} - (q - logπ) - 1 >= 0. (The reference takes
    // q = log p_ref whatever the action, which for a = 0 pulls towards a = 1.)
    const auto q = action_log_probs(reference_probs.detach(), actions, o.label_smoothing);
    const auto d = q - log_probs;
    const auto kl = ((torch::exp(d) - d - 1) * mask).mean();
    t.kl = kl.item<double>();
    if (o.kl_beta > 0) loss = loss + o.kl_beta * kl;
  }
  const auto entropy = -(probs * torch::log(probs + kEps) + (1 - probs) * torch::log(1 - probs + kEps));
  t.entropy = ((entropy * mask).sum() / valid).item<double>();
  if (o.entropy_beta > 0) loss = loss - o.entropy_beta * (entropy * mask).sum() / valid;
  {
    torch::NoGradGuard no_grad;
    const auto was_clipped = ((ratio - clipped).abs() > 1e-12).to(torch::kFloat) * mask;
    t.clip_fraction = was_clipped.sum().item<double>() / valid;
    t.mean_ratio = (ratio * mask).sum().item<double>() / valid;
  }
  t.loss = loss;
  t.log_probs = log_probs.detach();
  return t;
}

}  // namespace gliclass::train
