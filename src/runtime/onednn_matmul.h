// y = x W^T + b through oneDNN's matmul primitive, which picks the CPU's
// brgemm kernels (AVX-512 fp32, AVX512-BF16/AMX bf16, VNNI int8), on the
// OpenMP threads LibTorch also uses.
//
// fp32 reads W where it is: a row-major [N,K] tensor is W^T in oneDNN's "ba"
// layout, so nothing is copied and in-place updates of W are seen (packing it
// gains ~5% and would double the weights' memory). bf16 holds a converted W
// once, in the blocked layout the kernel reads; int8 a quantised W, row-major
// (the VNNI kernel for int8 inputs reads that layout). No call reorders the
// weights (LibTorch's mkldnn_linear did on every call: half of the linear
// layers' time on "small").
//
// int8 (dynamic quantisation): W per output row, s_w[n] = max|W[n,:]| / 127;
// x per call and row (token), s_x[m] = max|x[m,:]| / 127;
// y[m,n] = s_x[m] s_w[n] sum_k q(x)[m,k] q(W)[n,k] + b[n], q(v) = round(v / s)
// in [-127, 127], the sum in int32.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gliclass/classifier.h"  // DType

namespace gliclass::runtime {

// What is applied to each product x W^T + b before it is stored:
// y = gelu(x W^T + b) (erf GELU) when `gelu`, then y += residual [M,N].
// oneDNN runs it in the kernel (post-ops) for fp32 and bf16; int8 while
// dequantising (runtime/quantize.h).
struct Epilogue {
  bool gelu = false;
  torch::Tensor residual;  // float32, M x N elements, or undefined
};

class OneDnnMatmul {
 public:
  // weight [N,K] and bias [N] (or undefined), float32 on the CPU. fp32 keeps
  // a reference to weight; bf16 and int8 convert it here. Throws
  // std::runtime_error naming the dtype when oneDNN has only its reference
  // (unoptimised) kernel for it on this CPU.
  OneDnnMatmul(const torch::Tensor& weight, const torch::Tensor& bias, DType dtype);
  ~OneDnnMatmul();

  // x [M,K] float32 -> [M,N] float32. Safe to call from several threads.
  torch::Tensor forward(const torch::Tensor& x, const Epilogue& epilogue = {}) const;

  // oneDNN's name for the kernel it runs `dtype` with on this CPU, e.g.
  // "brg:avx512_core_bf16" (what benchmarks report).
  static std::string kernel(DType dtype);
  // Whether that kernel is an optimised one (not oneDNN's reference loops).
  static bool optimised(DType dtype);

 private:
  struct Impl;
  std::unique_ptr<const Impl> impl_;
};

// The row ranges [begin, end) OneDnnMatmul runs a product of m rows in: one
// part, or on oneDNN's AMX kernels (`amx`) parts of row counts those kernels
// block well: multiples of 64 and at most 48 (onednn_matmul.cpp).
std::vector<std::pair<int64_t, int64_t>> row_parts(int64_t m, bool amx);

// a [M,K] @ b [K,N] -> [M,N] float32 for 2-D CPU tensors, both float32 or
// both bfloat16 (views that are not dense row- or column-major are copied
// first): oneDNN's AVX-512 kernel, about twice OpenBLAS's AVX2 one on
// attention's small products. Inside a parallel region it runs on the calling
// thread alone. Other inputs go to torch::matmul.
torch::Tensor matmul(const torch::Tensor& a, const torch::Tensor& b);

// A dense matrix operand: rows x columns elements at data, row-major, or
// column-major (the transpose of a row-major [columns, rows]).
struct MatrixOperand {
  const void* data;
  int64_t rows, columns;
  bool column_major = false;
};

// out [M,N] (float32, row-major) = a [M,K] b [K,N], a and b float32, or
// bfloat16 when `bf16`: matmul's kernel on raw memory, for loops that would
// otherwise wrap every small buffer in a tensor. On the calling thread when
// inside a parallel region.
void matmul_into(const MatrixOperand& a, const MatrixOperand& b, bool bf16, float* out);

}  // namespace gliclass::runtime
