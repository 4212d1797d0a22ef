// The reference's layers.py projectors: Linear -> GELU (erf form, HF "gelu")
// -> [Dropout] -> Linear, with children named linear_1 / linear_2.
#pragma once
#include <torch/torch.h>

#include <string>
#include "runtime/linear.h"

namespace gliclass::model {

// Activation named by projector_hidden_act; HF names "gelu" (erf), "gelu_new" /
// "gelu_pytorch_tanh" (tanh form), "relu", "silu"/"swish", "tanh". ModelError otherwise.
torch::Tensor apply_activation(const std::string& name, const torch::Tensor& x);
void check_activation(const std::string& name);

// FeaturesProjector: in_size -> hidden_size -> act -> dropout -> in_size.
class FeaturesProjectorImpl : public torch::nn::Module {
 public:
  FeaturesProjectorImpl(int64_t in_size, int64_t hidden_size, std::string activation, double dropout);
  torch::Tensor forward(const torch::Tensor& features);

  runtime::Linear linear_1{nullptr};
  runtime::Linear linear_2{nullptr};

 private:
  std::string activation_;
  double dropout_;
};
TORCH_MODULE(FeaturesProjector);

// BiEncoderProjector: label_size -> hidden_size -> act -> out_size, no dropout.
class BiEncoderProjectorImpl : public torch::nn::Module {
 public:
  BiEncoderProjectorImpl(int64_t label_size, int64_t hidden_size, int64_t out_size,
                         std::string activation);
  torch::Tensor forward(const torch::Tensor& features);

  runtime::Linear linear_1{nullptr};
  runtime::Linear linear_2{nullptr};

 private:
  std::string activation_;
};
TORCH_MODULE(BiEncoderProjector);

}  // namespace gliclass::model
