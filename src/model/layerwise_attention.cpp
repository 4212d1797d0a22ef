#include "model/layerwise_attention.h"

#include "gliclass/error.h"

namespace gliclass::model {

LayerwiseAttentionImpl::LayerwiseAttentionImpl(int64_t num_layers, int64_t hidden_size)
    : num_layers_(num_layers) {
  if (num_layers < 2)
    throw ModelError("layer_wise_attention: needs at least 2 layers (got " +
                     std::to_string(num_layers) + ")");
  squeeze = register_module("squeeze", runtime::Linear(hidden_size, 1));
  W1 = register_module("W1", runtime::Linear(num_layers, num_layers / 2));
  W2 = register_module("W2", runtime::Linear(num_layers / 2, num_layers));
  output_projection = register_module("output_projection", runtime::Linear(hidden_size, hidden_size));
}

torch::Tensor LayerwiseAttentionImpl::forward(const std::vector<torch::Tensor>& states,
                                              const torch::Tensor& lengths) {
  if (static_cast<int64_t>(states.size()) != num_layers_)
    throw ModelError("layer_wise_attention: wrong number of hidden states (expected " +
                     std::to_string(num_layers_) + ", got " + std::to_string(states.size()) + ")");
  auto u = torch::stack(states, 1);                    // [B,K,L,D]
  auto z = squeeze->forward(u).squeeze(-1);            // [B,K,L]
  auto len = lengths.to(u.device(), torch::kLong);
  auto keep = torch::arange(u.size(2), len.options()).unsqueeze(0) < len.unsqueeze(1);  // [B,L]
  z = z.masked_fill(keep.logical_not().unsqueeze(1), 0).sum(2) /
      len.to(z.scalar_type()).unsqueeze(1);            // [B,K]
  auto s = torch::sigmoid(W2->forward(torch::relu(W1->forward(z))));   // [B,K]
  auto weighted = (u * s.unsqueeze(-1).unsqueeze(-1)).sum(1);          // [B,L,D]
  return output_projection->forward(weighted);
}

}  // namespace gliclass::model
