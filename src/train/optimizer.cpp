#include "train/optimizer.h"

#include <cmath>
#include <map>
#include <set>

#include "gliclass/error.h"

namespace gliclass::train {

std::vector<ParamSlot> parameter_groups(torch::nn::Module& model, const OptimizerOptions& options) {
  // Parameters owned directly by a normalisation module (LayerNorm, RMSNorm,
  // ModernBertLayerNorm, ...): HF's get_parameter_names(model, ALL_LAYERNORM_LAYERS).
  std::set<const c10::TensorImpl*> norm_params;
  for (const auto& item : model.named_modules("", /*include_self=*/true)) {
    if (item.value()->name().find("Norm") == std::string::npos) continue;
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false))
      norm_params.insert(p.value().unsafeGetTensorImpl());
  }
  std::vector<ParamSlot> slots;
  for (const auto& p : model.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    ParamSlot s;
    s.name = p.key();
    s.param = p.value();
    s.encoder = s.name.find("encoder") != std::string::npos;
    s.lr = s.encoder ? options.encoder_lr : options.others_lr;
    const bool no_decay =
        s.name.find("bias") != std::string::npos || norm_params.count(p.value().unsafeGetTensorImpl()) > 0;
    s.weight_decay = no_decay ? 0.0 : (s.encoder ? options.encoder_weight_decay : options.others_weight_decay);
    slots.push_back(std::move(s));
  }
  return slots;
}

AdamW::AdamW(std::vector<ParamSlot> slots, const OptimizerOptions& options)
    : slots_(std::move(slots)), options_(options) {
  for (auto& s : slots_) {
    s.exp_avg = torch::zeros_like(s.param).detach();
    s.exp_avg_sq = torch::zeros_like(s.param).detach();
  }
}

void AdamW::step(double lr_multiplier) {
  torch::NoGradGuard no_grad;
  const double b1 = options_.beta1, b2 = options_.beta2;
  for (auto& s : slots_) {
    const auto& g = s.param.grad();
    if (!g.defined()) continue;
    ++s.step;
    const double lr = s.lr * lr_multiplier;
    if (s.weight_decay != 0) s.param.mul_(1.0 - lr * s.weight_decay);
    s.exp_avg.mul_(b1).add_(g, 1.0 - b1);
    s.exp_avg_sq.mul_(b2).addcmul_(g, g, 1.0 - b2);
    const double bias1 = 1.0 - std::pow(b1, static_cast<double>(s.step));
    const double bias2 = 1.0 - std::pow(b2, static_cast<double>(s.step));
    auto denom = (s.exp_avg_sq.sqrt() / std::sqrt(bias2)).add_(options_.eps);
    s.param.addcdiv_(s.exp_avg, denom, -lr / bias1);
  }
}

void AdamW::zero_grad() {
  for (auto& s : slots_) {
    auto& g = s.param.mutable_grad();
    if (g.defined()) g = torch::Tensor();
  }
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& s : slots_) {
    out.emplace_back(s.name + ".exp_avg", s.exp_avg);
    out.emplace_back(s.name + ".exp_avg_sq", s.exp_avg_sq);
    out.emplace_back(s.name + ".step", torch::tensor(s.step, torch::kLong));
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  auto take = [&](const std::string& name, const torch::Tensor& like) {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw ModelError("optimizer: state tensor '" + name + "' not found");
    if (like.defined() && it->second.sizes() != like.sizes())
      throw ModelError("optimizer: state tensor '" + name + "' has wrong shape (expected " +
                       c10::str(like.sizes()) + ", got " + c10::str(it->second.sizes()) + ")");
    return it->second;
  };
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    s.exp_avg.copy_(take(s.name + ".exp_avg", s.exp_avg));
    s.exp_avg_sq.copy_(take(s.name + ".exp_avg_sq", s.exp_avg_sq));
    s.step = take(s.name + ".step", {}).item<int64_t>();
  }
}

Schedule schedule_from_name(const std::string& name) {
  if (name == "linear") return Schedule::kLinear;
  if (name == "cosine") return Schedule::kCosine;
  if (name == "constant") return Schedule::kConstant;
  throw InputError("optimizer: unknown schedule (expected linear, cosine or constant, got \"" + name + "\")");
}

std::string schedule_name(Schedule s) {
  switch (s) {
    case Schedule::kCosine:
      return "cosine";
    case Schedule::kConstant:
      return "constant";
    case Schedule::kLinear:
      break;
  }
  return "linear";
}

double lr_multiplier(Schedule schedule, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
  const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
  switch (schedule) {
    case Schedule::kConstant:
      return 1.0;
    case Schedule::kCosine: {
      const double progress = static_cast<double>(step - warmup) / span;
      return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
    }
    case Schedule::kLinear:
      break;
  }
  return std::max(0.0, static_cast<double>(total - step) / span);
}

double clip_grad_norm(const std::vector<ParamSlot>& slots, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> norms;
  for (const auto& s : slots)
    if (s.param.grad().defined()) norms.push_back(s.param.grad().norm(2));
  if (norms.empty()) return 0.0;
  const double total = torch::stack(norms).norm(2).item<double>();
  if (max_norm > 0) {
    const double coef = max_norm / (total + 1e-6);
    if (coef < 1.0)
      for (const auto& s : slots)
        if (s.param.grad().defined()) s.param.grad().mul_(coef);
  }
  return total;
}

}  // namespace gliclass::train
