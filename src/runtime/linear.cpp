#include "runtime/linear.h"

#include <cmath>

namespace gliclass::runtime {
namespace {
thread_local int t_active_adapter = 0;
}  // namespace

int active_adapter() { return t_active_adapter; }
AdapterScope::AdapterScope(int id) : previous_(t_active_adapter) { t_active_adapter = id; }
AdapterScope::~AdapterScope() { t_active_adapter = previous_; }

std::shared_ptr<const OneDnnMatmul> LinearImpl::matmul() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Both parameters' version counters, in one number (each stays far below 2^32).
  const int64_t version = (static_cast<int64_t>(weight._version()) << 32) +
                          (bias.defined() ? static_cast<int64_t>(bias._version()) : 0);
  if (built_version_ < 0 || built_dtype_ != dtype_ || weight.data_ptr() != built_from_ || version != built_version_) {
    try {
      matmul_ = std::make_shared<const OneDnnMatmul>(weight.contiguous(), bias, dtype_);
    } catch (const std::runtime_error&) {
      matmul_ = nullptr;  // no optimised kernel for dtype_ here: LibTorch's fp32 path
    }
    built_dtype_ = dtype_;
    built_from_ = weight.data_ptr();
    built_version_ = version;
  }
  return matmul_;
}

void LinearImpl::add_adapter(int id, LoraDelta delta) {
  TORCH_CHECK(id > 0, "adapter ids start at 1");
  for (auto& [have, d] : adapters_)
    if (have == id) {
      d = std::move(delta);
      return;
    }
  adapters_.emplace_back(id, std::move(delta));
}

void LinearImpl::add_trainable_lora(int64_t r, double scale, double dropout) {
  torch::NoGradGuard no_grad;
  lora_A_ = register_parameter("lora_A", torch::empty({r, weight.size(1)}));
  torch::nn::init::kaiming_uniform_(lora_A_, std::sqrt(5.0));  // as nn.Linear and PEFT
  lora_B_ = register_parameter("lora_B", torch::zeros({weight.size(0), r}));
  lora_scale_ = scale;
  lora_dropout_ = dropout;
  weight.set_requires_grad(false);
  if (bias.defined()) bias.set_requires_grad(false);
}

LoraDelta LinearImpl::trainable_lora() const { return {lora_A_, lora_B_, lora_scale_, {}, {}}; }

const LoraDelta* LinearImpl::active_delta() const {
  if (const int id = active_adapter(); id > 0)
    for (const auto& [have, d] : adapters_)
      if (have == id) return &d;
  return nullptr;
}

torch::Tensor LinearImpl::forward(const torch::Tensor& input) {
  const LoraDelta* adapter = active_delta();
  torch::Tensor y;
  if (adapter && (adapter->weight.defined() || adapter->bias.defined()))
    y = torch::linear(input, adapter->weight.defined() ? adapter->weight : weight,
                      adapter->bias.defined() ? adapter->bias : bias);
  else
    y = base_forward(input);
  // y += s (x A^T) B^T
  if (adapter && adapter->A.defined())
    y = y + adapter->scale * torch::linear(torch::linear(input, adapter->A), adapter->B);
  if (lora_A_.defined()) {
    const auto x = is_training() && lora_dropout_ > 0 ? torch::dropout(input, lora_dropout_, true) : input;
    y = y + lora_scale_ * torch::linear(torch::linear(x, lora_A_), lora_B_);
  }
  return y;
}

torch::Tensor LinearImpl::forward_with(const torch::Tensor& input, const Epilogue& epilogue) {
  if (!active_delta() && !lora_A_.defined())
    if (const auto mm = inference_matmul(input)) return through(*mm, input, epilogue);
  auto y = forward(input);
  if (epilogue.gelu) y = torch::GradMode::is_enabled() ? torch::gelu(y) : torch::gelu_(y);
  if (epilogue.residual.defined()) y = y + epilogue.residual;
  return y;
}

std::shared_ptr<const OneDnnMatmul> LinearImpl::inference_matmul(const torch::Tensor& input) {
  const bool inference = !is_training() && !torch::GradMode::is_enabled();
  if (!inference || input.scalar_type() != torch::kFloat || !input.device().is_cpu() || input.numel() == 0)
    return nullptr;
  return matmul();
}

torch::Tensor LinearImpl::base_forward(const torch::Tensor& input) {
  const auto mm = inference_matmul(input);
  return mm ? through(*mm, input, {}) : torch::nn::LinearImpl::forward(input);
}

torch::Tensor LinearImpl::through(const OneDnnMatmul& mm, const torch::Tensor& input, const Epilogue& epilogue) const {
  auto sizes = input.sizes().vec();
  sizes.back() = weight.size(0);
  return mm.forward(input.reshape({-1, input.size(-1)}), epilogue).view(sizes);
}

void set_dtype(torch::nn::Module& module, DType dtype) {
  for (auto& m : module.modules(/*include_self=*/true))
    if (auto* linear = dynamic_cast<LinearImpl*>(m.get())) linear->set_dtype(dtype);
}

}  // namespace gliclass::runtime
