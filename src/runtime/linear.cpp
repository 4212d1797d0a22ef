#include "runtime/linear.h"

namespace gliclass::runtime {

std::pair<torch::Tensor, torch::Tensor> LinearImpl::bf16_parameters() {
  std::lock_guard<std::mutex> lock(mutex_);
  // Both parameters' version counters, in one number (each stays far below 2^32).
  const int64_t version = (static_cast<int64_t>(weight._version()) << 32) +
                          (bias.defined() ? static_cast<int64_t>(bias._version()) : 0);
  if (!weight_bf16_.defined() || weight.data_ptr() != converted_from_ || version != converted_version_) {
    torch::NoGradGuard no_grad;
    weight_bf16_ = weight.detach().to(torch::kBFloat16);
    bias_bf16_ = bias.defined() ? bias.detach().to(torch::kBFloat16) : torch::Tensor();
    converted_from_ = weight.data_ptr();
    converted_version_ = version;
  }
  return {weight_bf16_, bias_bf16_};
}

torch::Tensor LinearImpl::forward(const torch::Tensor& input) {
  const bool inference = !is_training() && !torch::GradMode::is_enabled();
  if (!inference || input.scalar_type() != torch::kFloat || !input.device().is_cpu() || input.numel() == 0)
    return torch::nn::LinearImpl::forward(input);
  if (dtype_ == DType::kBFloat16) {
    const auto [w, b] = bf16_parameters();
    return torch::linear(input.to(torch::kBFloat16), w, b).to(torch::kFloat);
  }
  if (!at::hasMKLDNN()) return torch::nn::LinearImpl::forward(input);
  // fp32 through oneDNN, on LibTorch's thread pool.
  auto sizes = input.sizes().vec();
  sizes.back() = weight.size(0);
  auto rows = input.reshape({-1, input.size(-1)}).contiguous();
  return at::mkldnn_linear(rows.to_mkldnn(), weight, bias).to_dense().view(sizes);
}

void set_dtype(torch::nn::Module& module, DType dtype) {
  for (auto& m : module.modules(/*include_self=*/true))
    if (auto* linear = dynamic_cast<LinearImpl*>(m.get())) linear->set_dtype(dtype);
}

}  // namespace gliclass::runtime
