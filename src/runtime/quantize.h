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

// y[r,c] = y[r,c] * s[r] + bias[c] in place; y [rows, columns] float32
// contiguous, s [rows], bias [columns] or undefined.
void dequantize_rows_(torch::Tensor& y, const torch::Tensor& s, const torch::Tensor& bias);

}  // namespace gliclass::runtime
