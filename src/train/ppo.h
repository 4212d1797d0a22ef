// PPO over independent Bernoulli label decisions (reference.md §6; the
// paper's RL adaptation). For logits x [B,K], p = σ(x), actions a ∈ {0,1}:
//   logπ = ã log(p + 1e-8) + (1 - ã) log(1 - p + 1e-8),  ã = a(1-ε) + ε/2 (label smoothing ε)
//   r    = exp(logπ - logπ_prev)                         (1 at the first inner iteration)
//   ℓ    = -min(r A, clip(r, 1-c, 1+c) A) · mask,  A = R - V per sample
//          optional × p_t^γ (p_t = p y + (1-p)(1-y)) and × α_t (α y + (1-α)(1-y))
//   L    = Σℓ / B + kl_beta · mean(e^{q - logπ} - (q - logπ) - 1) - entropy_beta · mean H(p)
// with q = log π_ref(a) of a frozen reference model for the same action (the
// reference uses log p_ref for every action, a bug for a = 0). The entropy
// term is a bonus (it lowers the loss where the policy is uncertain) and off
// by default (decisions.md).
#pragma once
#include <torch/torch.h>

#include <string>

namespace gliclass::train {

struct PpoOptions {
  double clip = 0.2;              // c
  int64_t num_rl_iters = 3;       // updates per batch, actions resampled each time
  std::string actions = "bernoulli";  // bernoulli | threshold
  double threshold = 0.5;         // actions = p > threshold when actions == "threshold"
  double focal_gamma = -1;        // <= 0: off
  double focal_alpha = -1;        // < 0: off
  double label_smoothing = 0;     // ε; 0: off
  double kl_beta = 0;             // > 0 needs reference probabilities
  double entropy_beta = 0;        // > 0: entropy bonus
};

// Samples (or thresholds) actions from p, without gradient.
torch::Tensor sample_actions(const torch::Tensor& probs, const PpoOptions& options);

// logπ per label.
torch::Tensor action_log_probs(const torch::Tensor& probs, const torch::Tensor& actions, double label_smoothing);

struct PpoTerms {
  torch::Tensor loss;         // scalar, with gradient
  torch::Tensor log_probs;    // [B,K] logπ, detached (the next iteration's logπ_prev)
  double policy_loss = 0;     // Σℓ / B
  double kl = 0;              // mean per-label KL estimate (0 without reference)
  double entropy = 0;         // mean H(p) over valid labels
  double clip_fraction = 0;   // share of valid labels whose ratio was clipped
  double mean_ratio = 1;
};

// `prev_log_probs` undefined: first iteration (r = 1). `reference_probs`
// undefined: no KL term. advantages: [B].
PpoTerms ppo_objective(const torch::Tensor& logits, const torch::Tensor& actions, const torch::Tensor& targets,
                       const torch::Tensor& mask, const torch::Tensor& advantages,
                       const torch::Tensor& prev_log_probs, const torch::Tensor& reference_probs,
                       const PpoOptions& options);

}  // namespace gliclass::train
