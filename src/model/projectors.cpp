#include "model/projectors.h"


#include "gliclass/error.h"

namespace gliclass::model {
namespace {

const char* const kActivations[] = {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu",
                                    "silu", "swish",    "tanh"};

}  // namespace

void check_activation(const std::string& name) {
  for (const char* a : kActivations)
    if (name == a) return;
  std::string known;
  for (const char* a : kActivations) known += (known.empty() ? "" : ", ") + std::string(a);
  throw ModelError("projector: unknown projector_hidden_act (expected one of " + known +
                   ", got \"" + name + "\")");
}

torch::Tensor apply_activation(const std::string& name, const torch::Tensor& x) {
  if (name == "gelu") return torch::gelu(x);  // 0.5 x (1 + erf(x / sqrt 2))
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return torch::gelu(x, "tanh");
  if (name == "relu") return torch::relu(x);
  if (name == "silu" || name == "swish") return torch::silu(x);
  if (name == "tanh") return torch::tanh(x);
  check_activation(name);
  return x;
}

FeaturesProjectorImpl::FeaturesProjectorImpl(int64_t in_size, int64_t hidden_size,
                                             std::string activation, double dropout)
    : activation_(std::move(activation)), dropout_(dropout) {
  check_activation(activation_);
  linear_1 = register_module("linear_1", runtime::Linear(in_size, hidden_size));
  linear_2 = register_module("linear_2", runtime::Linear(hidden_size, in_size));
}

torch::Tensor FeaturesProjectorImpl::forward(const torch::Tensor& features) {
  auto h = apply_activation(activation_, linear_1->forward(features));
  h = torch::dropout(h, dropout_, is_training());
  return linear_2->forward(h);
}

BiEncoderProjectorImpl::BiEncoderProjectorImpl(int64_t label_size, int64_t hidden_size,
                                               int64_t out_size, std::string activation)
    : activation_(std::move(activation)) {
  check_activation(activation_);
  linear_1 = register_module("linear_1", runtime::Linear(label_size, hidden_size));
  linear_2 = register_module("linear_2", runtime::Linear(hidden_size, out_size));
}

torch::Tensor BiEncoderProjectorImpl::forward(const torch::Tensor& features) {
  return linear_2->forward(apply_activation(activation_, linear_1->forward(features)));
}

}  // namespace gliclass::model
