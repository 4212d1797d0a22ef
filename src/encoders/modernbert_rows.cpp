// ModernBERT's inference attention per (row, head) (ModernBertBatch::lengths),
// from the fused projection straight to the heads' outputs. For each row b
// of n tokens and head h:
//   q, k = RoPE(q), RoPE(k) at positions 0..n-1  (x cos + rotate_half(x) sin)
//   P = softmax(q k^T / sqrt(d)) over the keys j with |i - j| <= window
//   out = P v
// q, k and v are copied once into dense [n, d] operands (bfloat16 when the
// products run in bf16); local layers on long rows go in blocks of queries
// against the keys they reach, as banded_attention does. Selected queries
// (batch.queries: the last layer's read positions) go in one block.
//
// This file is compiled with -ffp-contract=off (CMakeLists.txt): the rotation
// rounds x cos and rotate_half(x) sin before adding them, as HF's does.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "encoders/common.h"
#include "encoders/modernbert.h"
#include "runtime/cpu_dispatch.h"
#include "runtime/head_rows.h"
#include "runtime/onednn_matmul.h"
#include "runtime/softmax.h"
#include "runtime/vector_math.h"

namespace gliclass::encoders {
namespace {

inline __attribute__((always_inline)) float to_out(float v, float*) { return v; }
inline __attribute__((always_inline)) uint16_t to_out(float v, uint16_t*) { return runtime::bf16_bits(v); }

// out[t, :] = x[t, :] cos[t, :] + rotate_half(x[t, :]) sin[t, :] for t < n;
// x's rows are `stride` floats apart, the tables' and out's d apart.
template <class Out>
inline __attribute__((always_inline)) void rotate_rows(const float* x, int64_t stride, const float* cos,
                                                       const float* sin, int64_t n, int64_t d, Out* out) {
  const int64_t half = d / 2;
  for (int64_t t = 0; t < n; ++t) {
    const float *xr = x + t * stride, *c = cos + t * d, *s = sin + t * d;
    Out* o = out + t * d;
    for (int64_t j = 0; j < half; ++j) o[j] = to_out(xr[j] * c[j] - xr[half + j] * s[j], o);
    for (int64_t j = half; j < d; ++j) o[j] = to_out(xr[j] * c[j] + xr[j - half] * s[j], o);
  }
}

struct RowKernels {
  void (*rotate)(const float*, int64_t, const float*, const float*, int64_t, int64_t, float*);
  void (*rotate_bf16)(const float*, int64_t, const float*, const float*, int64_t, int64_t, uint16_t*);
};

#define GLICLASS_ROW_KERNELS(suffix, target_attr)                                                               \
  target_attr void rotate_##suffix(const float* x, int64_t stride, const float* c, const float* s, int64_t n,   \
                                   int64_t d, float* out) {                                                     \
    rotate_rows(x, stride, c, s, n, d, out);                                                                    \
  }                                                                                                             \
  target_attr void rotate_bf16_##suffix(const float* x, int64_t stride, const float* c, const float* s,         \
                                        int64_t n, int64_t d, uint16_t* out) {                                  \
    rotate_rows(x, stride, c, s, n, d, out);                                                                    \
  }
GLICLASS_ROW_KERNELS(avx512, __attribute__((target("avx512f"))))
GLICLASS_ROW_KERNELS(avx2, __attribute__((target("avx2"))))
GLICLASS_ROW_KERNELS(plain, )
#undef GLICLASS_ROW_KERNELS

const RowKernels& row_kernels() {
  static const RowKernels kernels = runtime::pick_for_cpu<RowKernels>(
      {rotate_avx512, rotate_bf16_avx512}, {rotate_avx2, rotate_bf16_avx2}, {rotate_plain, rotate_bf16_plain});
  return kernels;
}

}  // namespace

torch::Tensor attention_rows(const torch::Tensor& qkv_in, const ModernBertBatch& batch, const AttentionShape& shape,
                             bool bf16) {
  const int64_t d = shape.head_dim, width = shape.heads * d, window = shape.window;
  const auto qkv = qkv_in.reshape({-1, 3 * width}).contiguous();
  TORCH_CHECK(qkv.scalar_type() == torch::kFloat, "attention_rows: expected float32 projections");
  const auto& rope = window < 0 ? batch.global_rope : batch.local_rope;
  const auto cos = rope.cos.contiguous(), sin = rope.sin.contiguous();

  // Row b's first token: packed rows follow each other; padded ones start at b * L.
  const bool packed = batch.indices.defined();
  std::vector<int64_t> starts;
  int64_t next = 0;
  bool full = true;
  for (int64_t n : batch.lengths) {
    starts.push_back(packed ? next : static_cast<int64_t>(starts.size()) * batch.length);
    next += n;
    full = full && n == batch.length;
  }
  // Padding positions (only without packing) stay 0.
  const ReadRows* queries = batch.queries ? &*batch.queries : nullptr;
  auto out = queries            ? torch::empty({queries->index.numel(), width}, qkv.options())
             : packed || full ? torch::empty({qkv.size(0), width}, qkv.options())
                              : torch::zeros({qkv.size(0), width}, qkv.options());
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const RowKernels& kernels = row_kernels();

  for_each_row_and_head(batch.batch, shape.heads, [&](int64_t b, int64_t h) {
    const int64_t n = batch.lengths[static_cast<size_t>(b)], start = starts[static_cast<size_t>(b)];
    const std::vector<int64_t>* picked = queries ? &queries->positions[static_cast<size_t>(b)] : nullptr;
    const int64_t m = picked ? static_cast<int64_t>(picked->size()) : n;  // query tokens
    if (n == 0 || m == 0) return;
    const float* row = qkv.data_ptr<float>() + start * 3 * width + h * d;
    const float *c = cos.data_ptr<float>(), *s = sin.data_ptr<float>();
    // q ([m, d]), k, v as dense [n, d] operands, one after the other.
    const size_t element = bf16 ? sizeof(uint16_t) : sizeof(float);
    std::unique_ptr<char[]> operands(new char[static_cast<size_t>(3 * n * d) * element]);
    auto fill = [&](auto* to, auto rotate) {
      if (picked) {
        for (int64_t r = 0; r < m; ++r) {
          const int64_t i = (*picked)[static_cast<size_t>(r)];
          rotate(row + i * 3 * width, 3 * width, c + i * d, s + i * d, 1, d, to + r * d);
        }
      } else {
        rotate(row, 3 * width, c, s, n, d, to);
      }
      rotate(row + width, 3 * width, c, s, n, d, to + n * d);
      runtime::head_rows(row + 2 * width, 3 * width, n, d, 1.f, to + 2 * n * d);
    };
    if (bf16)
      fill(reinterpret_cast<uint16_t*>(operands.get()), kernels.rotate_bf16);
    else
      fill(reinterpret_cast<float*>(operands.get()), kernels.rotate);
    auto at_row = [&](int i, int64_t r) { return operands.get() + (i * n + r) * d * element; };

    // Blocks of queries (selected ones: one block against every key).
    const int64_t banded = picked ? 0 : band_block(n, window), block = banded > 0 ? banded : m;  // 0 for global layers
    const int64_t most_keys = window < 0 || picked ? n : std::min(n, block + 2 * window);
    std::unique_ptr<float[]> scores(new float[static_cast<size_t>(block * most_keys)]);
    std::unique_ptr<float[]> heads_out(new float[static_cast<size_t>(block * d)]);
    std::unique_ptr<uint16_t[]> probs(bf16 ? new uint16_t[static_cast<size_t>(block * most_keys)] : nullptr);
    float* const output = out.data_ptr<float>() + (picked ? queries->offsets[static_cast<size_t>(b)] : start) * width;
    for (int64_t first = 0; first < m; first += block) {
      const int64_t rows = std::min(block, m - first);
      const int64_t key0 = window < 0 || picked ? 0 : std::max<int64_t>(0, first - window);
      const int64_t keys = (window < 0 || picked ? n : std::min(n, first + rows + window)) - key0;
      // scores = q[first..] k[key0..]^T (k read column-major: its transpose)
      runtime::matmul_into({at_row(0, first), rows, d}, {at_row(1, key0), d, keys, true}, bf16, scores.get());
      if (picked) {  // row r's query sits at token picked[r]
        for (int64_t r = 0; r < rows; ++r)
          runtime::softmax_window_(scores.get() + r * keys, 1, keys, {scale, window, (*picked)[static_cast<size_t>(r)]},
                                   bf16 ? probs.get() + r * keys : nullptr);
      } else {
        runtime::softmax_window_(scores.get(), rows, keys, {scale, window, first - key0}, probs.get());
      }
      const void* p = bf16 ? static_cast<const void*>(probs.get()) : scores.get();
      runtime::matmul_into({p, rows, keys}, {at_row(2, key0), keys, d}, bf16, heads_out.get());
      float* to = output + first * width + h * d;
      for (int64_t t = 0; t < rows; ++t) std::memcpy(to + t * width, heads_out.get() + t * d, d * sizeof(float));
    }
  });
  return out;
}

}  // namespace gliclass::encoders
