// AdamW with the reference trainer's parameter groups (training.Trainer.
// create_optimizer), the Hugging Face warmup schedules, and gradient clipping.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gliclass::train {

struct OptimizerOptions {
  double encoder_lr = 1e-5;            // parameters whose name contains "encoder"
  double others_lr = 3e-5;             // everything else (projectors, scorer, logit_scale)
  double encoder_weight_decay = 0.01;
  double others_weight_decay = 0.01;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

// One trainable tensor and the group values that apply to it.
struct ParamSlot {
  std::string name;
  torch::Tensor param;
  double lr = 0;
  double weight_decay = 0;
  bool encoder = false;
  // AdamW state.
  torch::Tensor exp_avg;     // m
  torch::Tensor exp_avg_sq;  // v
  int64_t step = 0;
};

// The reference's groups: "encoder" in the name -> encoder lr / weight decay,
// else the others'; biases and the weights of normalisation layers (modules
// whose type name contains "Norm") never decay.
std::vector<ParamSlot> parameter_groups(torch::nn::Module& model, const OptimizerOptions& options);

// torch.optim.AdamW (Loshchilov & Hutter 2019), per parameter with gradient g
// at its t-th update and learning rate lr = group lr * schedule multiplier:
//   p <- p * (1 - lr * wd)
//   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Parameters without a gradient are skipped (their t does not advance).
class AdamW {
 public:
  AdamW(std::vector<ParamSlot> slots, const OptimizerOptions& options);

  void step(double lr_multiplier);
  void zero_grad();

  std::vector<ParamSlot>& slots() { return slots_; }
  const std::vector<ParamSlot>& slots() const { return slots_; }

  // State as named tensors ("<name>.exp_avg", "<name>.exp_avg_sq", "<name>.step"),
  // and back; load_state throws ModelError naming a missing or mis-shaped entry.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  void load_state(const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

 private:
  std::vector<ParamSlot> slots_;
  OptimizerOptions options_;
};

enum class Schedule { kLinear, kCosine, kConstant };
Schedule schedule_from_name(const std::string& name);  // linear | cosine | constant
std::string schedule_name(Schedule s);

// Hugging Face get_{linear,cosine,constant}_schedule_with_warmup, as the
// multiplier for optimizer step `step` (0-based) of `total`:
//   warmup: step / warmup
//   linear: max(0, (total - step) / (total - warmup))
//   cosine: max(0, 0.5 (1 + cos(pi * progress))), progress = (step - warmup) / (total - warmup)
//   constant: 1
double lr_multiplier(Schedule schedule, int64_t step, int64_t warmup, int64_t total);

// torch.nn.utils.clip_grad_norm_: scales every gradient by
// min(1, max_norm / (||g||_2 + 1e-6)), ||g|| over all gradients together.
// Returns the norm before clipping. max_norm <= 0 only measures.
double clip_grad_norm(const std::vector<ParamSlot>& slots, double max_norm);

}  // namespace gliclass::train
