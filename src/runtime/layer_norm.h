// LayerNorm over the last dimension, y = (x - mean) / sqrt(var + eps) w + b
// (biased variance), as torch::nn::LayerNorm with the same parameters and
// names. At inference on float32 CPU rows it runs one vectorised pass per
// row (mean and variance in lanes, two passes over the row in cache) instead
// of LibTorch's kernel and its per-call overhead; results differ from
// LibTorch's by float rounding. Training and autograd use LibTorch's.
#pragma once
#include <torch/torch.h>

namespace gliclass::runtime {

// weight and bias [size] float32, either may be undefined (1 and 0).
torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps);

class LayerNormImpl : public torch::nn::LayerNormImpl {
 public:
  using torch::nn::LayerNormImpl::LayerNormImpl;
  torch::Tensor forward(const torch::Tensor& input);
};
TORCH_MODULE(LayerNorm);

}  // namespace gliclass::runtime
