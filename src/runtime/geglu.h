// GeGLU's gate in one pass: y = gelu(a) * g for [a, g] = the two halves of
// each row of x (ModernBERT's MLP), the erf GELU of runtime/vector_math.h.
#pragma once
#include <torch/torch.h>

namespace gliclass::runtime {

// x [M, 2I] float32 on the CPU -> [M, I] float32.
torch::Tensor geglu(const torch::Tensor& x);

}  // namespace gliclass::runtime
