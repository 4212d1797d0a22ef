// LayerwiseAttention (reference layers.py, config squeeze_layers): a
// squeeze-and-excitation weighting of the encoder's hidden states.
//   U = stack(states) [B,K,L,D]; z_k = mean_L squeeze(U_k) (Linear D->1);
//   s = sigmoid(W2 relu(W1 z)) (K -> K/2 -> K); out = Linear(D,D)(sum_k s_k U_k).
#pragma once
#include <torch/torch.h>

#include <vector>
#include "runtime/linear.h"

namespace gliclass::model {

class LayerwiseAttentionImpl : public torch::nn::Module {
 public:
  LayerwiseAttentionImpl(int64_t num_layers, int64_t hidden_size);
  // states: K tensors [B,L,D]; lengths [B]: the mean over L runs over each
  // row's real tokens only (its length alone, unpadded).
  torch::Tensor forward(const std::vector<torch::Tensor>& states, const torch::Tensor& lengths);
  int64_t num_layers() const { return num_layers_; }

  runtime::Linear squeeze{nullptr}, W1{nullptr}, W2{nullptr}, output_projection{nullptr};

 private:
  int64_t num_layers_;
};
TORCH_MODULE(LayerwiseAttention);

}  // namespace gliclass::model
