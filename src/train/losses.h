// Training losses of the reference (loss_functions.py, GLiClassBaseModel.get_loss).
// Shapes: logits [B,K], targets [B,K] (float in [0,1]), mask [B,K] with 1 on a
// text's real label slots and 0 on the padding up to K (the batch's widest row).
#pragma once
#include <torch/torch.h>

#include <optional>
#include <string>

#include "model/model.h"

namespace gliclass::train {

enum class Reduction { kNone, kMean, kSum };

// "none" | "mean" | "sum"; InputError otherwise.
Reduction reduction_from_name(const std::string& name);
std::string reduction_name(Reduction r);

struct FocalOptions {
  double alpha = -1;             // < 0: no alpha weighting
  double gamma = -1;             // <= 0: no focal modulation (plain BCE)
  double label_smoothing = 0;    // y -> y(1-e) + e/2
  Reduction reduction = Reduction::kMean;
};

// Focal loss (Lin et al. 2017, https://arxiv.org/abs/1708.02002) on logits:
//   y' = y(1-e) + e/2                               (label smoothing)
//   l  = BCEWithLogits(x, y') = max(x,0) - x*y' + log(1 + exp(-|x|))
//   l *= (1 - p_t)^gamma,  p_t = p*y' + (1-p)(1-y'), p = sigmoid(x)   (gamma > 0)
//   l *= alpha*y' + (1-alpha)(1-y')                 (alpha >= 0)
//   l *= mask
// Reduction: none -> [B,K]; sum -> sum; mean -> sum / number of real slots
// (the reference's mean over non-ignored elements).
torch::Tensor focal_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                         const torch::Tensor& mask, const FocalOptions& options);

// Plain binary cross-entropy: focal_loss with alpha = gamma = -1.
torch::Tensor bce_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                       const torch::Tensor& mask, Reduction reduction = Reduction::kMean);

// Contrastive loss between a text's label vectors (sequence_contrastive_loss):
//   E = C / ||C||_2 per label, S = E E^T  [B,K,K] (no temperature)
//   l_bk = -S_bkk + log sum_j exp(S_bkj)  (cross-entropy, target = the label itself)
//   loss = sum(l * mask) / sum(mask)
// The sum over j runs over the text's own labels only (padded slots are left
// out of the softmax, so the loss does not depend on the batch's widest row).
torch::Tensor contrastive_loss(const torch::Tensor& class_embeddings, const torch::Tensor& mask);

// Single-label cross-entropy over each text's own labels (decisions.md):
//   l_b = -x_b,t + log sum_{k real} exp(x_bk),  mean over b (or sum/none).
// target: [B] int64, the index of the true label in the row.
torch::Tensor single_label_loss(const torch::Tensor& logits, const torch::Tensor& target,
                                const torch::Tensor& mask, Reduction reduction = Reduction::kMean);

struct LossOptions {
  bool single_label = false;       // problem_type single_label_classification
  FocalOptions focal;              // multi-label; alpha = gamma = -1 is plain BCE
  double contrastive_coef = 0;     // > 0 adds coef * contrastive_loss(class embeddings)
};

// Targets of one batch.
struct BatchTargets {
  torch::Tensor targets;  // [B,K] float (multi-label)
  torch::Tensor index;    // [B] int64 (single-label)
  torch::Tensor mask;     // [B,K] float, 1 on real label slots
};

// A loss term as a sum and the count it is averaged over, so data-parallel
// workers can divide their local sums by the whole batch's count.
struct LossTerm {
  torch::Tensor sum;     // scalar
  double count = 1;      // what the mean divides by (clamped to >= 1)
  bool averaged = true;  // false: reduction "sum", the term is `sum` itself
  torch::Tensor over(double total_count) const;  // sum / max(total_count, 1), or sum
};

struct LossParts {
  LossTerm main;
  std::optional<LossTerm> contrastive;  // when contrastive_coef > 0
  double contrastive_coef = 0;
  // main + coef * contrastive, each averaged over the given counts.
  torch::Tensor combine(double main_count, double contrastive_count) const;
};

// The model's training loss (GLiClassBaseModel.get_loss): focal/BCE or
// single-label cross-entropy, plus the weighted contrastive term. Counts:
// multi-label "mean" the real label slots, single-label "mean" the texts,
// "none" all B*K slots (padded ones counting as zero, like the reference
// model's mean after an unreduced loss); the contrastive term the real slots.
LossParts model_loss_parts(const model::ModelOutput& output, const BatchTargets& targets,
                           const LossOptions& options);

// model_loss_parts combined over this batch's own counts.
torch::Tensor model_loss(const model::ModelOutput& output, const BatchTargets& targets,
                         const LossOptions& options);

}  // namespace gliclass::train
