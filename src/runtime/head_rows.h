// One attention head's slice of packed rows, copied into the dense [n, d]
// operand that runtime::matmul_into takes (the per-(row, head) attention
// loops of DeBERTa and ModernBERT).
#pragma once
#include <cstdint>

namespace gliclass::runtime {

// out[t, j] = x[t * stride + j] / divisor for t < n, j < d: float32, or
// bfloat16 bits rounded to nearest even (torch's conversion of the float32
// quotient). A divisor of 1 copies.
void head_rows(const float* x, int64_t stride, int64_t n, int64_t d, float divisor, float* out);
void head_rows(const float* x, int64_t stride, int64_t n, int64_t d, float divisor, uint16_t* out);

}  // namespace gliclass::runtime
