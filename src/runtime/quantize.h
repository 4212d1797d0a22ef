// Per-row symmetric int8 quantisation for the int8 linear layers, one pass
// over the data each way (torch's aminmax over rows alone took a quarter of an
// int8 forward on "small").
#pragma once
#include <torch/torch.h>

#include <utility>

namespace gliclass::runtime {

// v [rows, columns] float32 -> q int8 [rows, columns] and s float32 [rows]:
// s = max|v[r,:]| / 127 (at least 1e-12 / 127), q = round(v / s) in [-127, 127].
std::pair<torch::Tensor, torch::Tensor> quantize_rows(const torch::Tensor& v);

// y[r,c] = act(y[r,c] * s[r] + bias[c]) + residual[r,c] in place, act = erf
// GELU when `gelu` (runtime/vector_math.h's, |error| <= 1e-6 |y|) else none;
// y [rows, columns] float32 contiguous, s [rows], bias [columns] and residual
// (float32 contiguous, like y) each optional (undefined).
void dequantize_rows_(torch::Tensor& y, const torch::Tensor& s, const torch::Tensor& bias, bool gelu = false,
                      const torch::Tensor& residual = {});

}  // namespace gliclass::runtime
