// A row-wise block of a layer (the feed-forward block: y_i = f(x_i), row i
// alone) run on blocks of rows at inference, so that its wide activation
// ([rows, intermediate]) is a few MB instead of [T, intermediate]: 43 MB for
// the 3,480 tokens of a batch of DeBERTa-v3-small, the largest transient of a
// forward. Under autograd, or where x has no more rows than one block, f runs
// once on the whole of x.
#pragma once
#include <torch/torch.h>

#include <functional>

namespace gliclass::runtime {

using RowFunction = std::function<torch::Tensor(const torch::Tensor&)>;

// f(x) for x [..., D], whose rows are its leading dimensions flattened; f
// maps [rows, D] to [rows, D'] (each row on its own) and the result is
// [..., D'].
torch::Tensor by_row_blocks(const torch::Tensor& x, const RowFunction& f);

}  // namespace gliclass::runtime
