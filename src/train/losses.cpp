#include "train/losses.h"

#include "gliclass/error.h"

namespace gliclass::train {
namespace {

void check_same_shape(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  if (a.sizes() != b.sizes())
    throw InputError(std::string("loss: ") + what + " shape mismatch (expected " +
                     c10::str(a.sizes()) + ", got " + c10::str(b.sizes()) + ")");
}

torch::Tensor reduce(const torch::Tensor& loss, const torch::Tensor& mask, Reduction r) {
  switch (r) {
    case Reduction::kNone:
      return loss;
    case Reduction::kSum:
      return loss.sum();
    case Reduction::kMean:
      break;
  }
  // Normalised by the real slots; an all-padding batch gives 0, not NaN.
  return loss.sum() / mask.sum().clamp_min(1.0);
}

}  // namespace

Reduction reduction_from_name(const std::string& name) {
  if (name == "none") return Reduction::kNone;
  if (name == "mean") return Reduction::kMean;
  if (name == "sum") return Reduction::kSum;
  throw InputError("loss: unknown reduction (expected none, mean or sum, got \"" + name + "\")");
}

std::string reduction_name(Reduction r) {
  switch (r) {
    case Reduction::kNone:
      return "none";
    case Reduction::kSum:
      return "sum";
    case Reduction::kMean:
      break;
  }
  return "mean";
}

torch::Tensor focal_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                         const torch::Tensor& mask, const FocalOptions& options) {
  check_same_shape(logits, targets, "targets");
  check_same_shape(logits, mask, "mask");
  const auto x = logits.to(torch::kFloat);
  const auto m = mask.to(torch::kFloat);
  auto y = targets.to(torch::kFloat);
  if (options.label_smoothing != 0)
    y = y * (1.0 - options.label_smoothing) + 0.5 * options.label_smoothing;
  // BCE with logits, -[y log s(x) + (1-y) log(1-s(x))], by LibTorch (stable,
  // and its gradient is s(x) - y everywhere, x = 0 included).
  auto loss = torch::binary_cross_entropy_with_logits(x, y, {}, {}, at::Reduction::None);
  loss = loss * m;
  if (options.gamma > 0) {
    auto p = torch::sigmoid(x);
    auto p_t = p * y + (1 - p) * (1 - y);
    loss = loss * torch::pow(1 - p_t, options.gamma);
  }
  if (options.alpha >= 0) loss = (options.alpha * y + (1 - options.alpha) * (1 - y)) * loss;
  return reduce(loss, m, options.reduction);
}

torch::Tensor bce_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                       const torch::Tensor& mask, Reduction reduction) {
  FocalOptions o;
  o.reduction = reduction;
  return focal_loss(logits, targets, mask, o);
}

// Sum over the real slots of the contrastive loss (contrastive_loss before the mean).
static torch::Tensor contrastive_sum(const torch::Tensor& class_embeddings, const torch::Tensor& mask) {
  if (class_embeddings.dim() != 3)
    throw InputError("loss: class embeddings must be [batch, labels, dim] (got " +
                     c10::str(class_embeddings.sizes()) + ")");
  const auto m = mask.to(torch::kFloat);
  if (m.sizes() != class_embeddings.sizes().slice(0, 2))
    throw InputError("loss: mask shape mismatch (expected " +
                     c10::str(class_embeddings.sizes().slice(0, 2)) + ", got " + c10::str(m.sizes()) + ")");
  // F.normalize: x / max(||x||, 1e-12).
  auto e = class_embeddings / class_embeddings.norm(2, -1, true).clamp_min(1e-12);
  auto sim = torch::matmul(e, e.transpose(1, 2));  // [B,K,K]
  // Padded labels are no candidates: -inf before the log-sum-exp.
  auto column_ok = m.unsqueeze(1).expand_as(sim) > 0;
  auto masked = sim.masked_fill(column_ok.logical_not(), -std::numeric_limits<float>::infinity());
  auto lse = torch::logsumexp(masked, -1);           // [B,K]
  auto diag = sim.diagonal(0, 1, 2);                  // [B,K]
  // Padded rows have lse = -inf; zero them before masking to keep gradients finite.
  auto per_label = torch::where(m > 0, lse - diag, torch::zeros_like(diag));
  return per_label.sum();
}

torch::Tensor contrastive_loss(const torch::Tensor& class_embeddings, const torch::Tensor& mask) {
  return contrastive_sum(class_embeddings, mask) / mask.to(torch::kFloat).sum().clamp_min(1.0);
}

torch::Tensor single_label_loss(const torch::Tensor& logits, const torch::Tensor& target,
                                const torch::Tensor& mask, Reduction reduction) {
  check_same_shape(logits, mask, "mask");
  if (target.dim() != 1 || target.size(0) != logits.size(0))
    throw InputError("loss: single-label target must be [batch] (got " + c10::str(target.sizes()) + ")");
  const auto m = mask.to(torch::kFloat);
  auto x = logits.to(torch::kFloat).masked_fill(m <= 0, -std::numeric_limits<float>::infinity());
  auto log_probs = torch::log_softmax(x, -1);
  auto loss = -log_probs.gather(1, target.to(torch::kLong).unsqueeze(1)).squeeze(1);  // [B]
  return reduce(loss, torch::ones_like(loss), reduction);  // the mean is over texts
}

torch::Tensor LossTerm::over(double total_count) const {
  return averaged ? sum / std::max(total_count, 1.0) : sum;
}

torch::Tensor LossParts::combine(double main_count, double contrastive_count) const {
  auto loss = main.over(main_count);
  if (contrastive) loss = loss + contrastive_coef * contrastive->over(contrastive_count);
  return loss;
}

LossParts model_loss_parts(const model::ModelOutput& output, const BatchTargets& targets,
                           const LossOptions& options) {
  LossParts parts;
  const auto reduction = options.focal.reduction;
  parts.main.averaged = reduction != Reduction::kSum;
  const double real_slots = targets.mask.sum().item<double>();
  if (options.single_label) {
    parts.main.sum = single_label_loss(output.logits, targets.index, targets.mask, Reduction::kSum);
    parts.main.count = static_cast<double>(output.logits.size(0));
  } else {
    FocalOptions focal = options.focal;
    focal.reduction = Reduction::kSum;
    parts.main.sum = focal_loss(output.logits, targets.targets, targets.mask, focal);
    parts.main.count = reduction == Reduction::kNone ? static_cast<double>(output.logits.numel()) : real_slots;
  }
  if (options.contrastive_coef > 0) {
    parts.contrastive = LossTerm{contrastive_sum(output.class_embeddings, targets.mask), real_slots, true};
    parts.contrastive_coef = options.contrastive_coef;
  }
  return parts;
}

torch::Tensor model_loss(const model::ModelOutput& output, const BatchTargets& targets,
                         const LossOptions& options) {
  const auto parts = model_loss_parts(output, targets, options);
  return parts.combine(parts.main.count, parts.contrastive ? parts.contrastive->count : 1.0);
}

}  // namespace gliclass::train
