// Helpers every GLiClass architecture's heads share: the reference's weight
// initialisation, feature normalisation, and sizes read from a checkpoint.
#pragma once
#include <torch/torch.h>

#include <string>

#include "io/checkpoint.h"

namespace gliclass::model {

// GLiClassModel's base_model_prefix: checkpoint names of the heads start with it.
inline constexpr const char* kModelPrefix = "model.";

// x / (||x||_2 + 1e-8) over the last dimension.
torch::Tensor l2_normalize(const torch::Tensor& x);

// GLiClassPreTrainedModel._init_weights for the heads: Linear and Embedding
// weights ~ N(0, std), biases 0, LSTM weights ~ N(0, std) with zero biases.
// Children named in `backbones` initialise themselves and are skipped.
void init_heads(torch::nn::Module& model, double std, std::initializer_list<const char*> backbones);

// Dimension `dim` of checkpoint tensor `name`, or `fallback` when there is no
// file or no such tensor.
int64_t dim_of(const io::TensorFile* file, const std::string& name, size_t dim, int64_t fallback);

}  // namespace gliclass::model
