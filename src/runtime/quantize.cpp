#include "runtime/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "runtime/cpu_dispatch.h"
#include "runtime/vector_math.h"

namespace gliclass::runtime {
namespace {

// The loops, inlined into an AVX-512, an AVX2 and a plain copy (runtime/cpu_dispatch.h).
inline __attribute__((always_inline)) float quantize_row(const float* v, int8_t* q, int64_t n) {
  // max|v| in 16 lanes (a form the compiler vectorises), then across them.
  constexpr int64_t kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) {
      const float a = std::fabs(v[i + j]);
      lanes[j] = a > lanes[j] ? a : lanes[j];
    }
  float amax = 0.f;
  for (float lane : lanes) amax = lane > amax ? lane : amax;
  for (; i < n; ++i) amax = std::max(amax, std::fabs(v[i]));
  const float scale = std::max(amax, 1e-12f) / 127.f, inverse = 1.f / scale;
  // Adding and subtracting 1.5 * 2^23 rounds |x| < 2^22 to the nearest
  // integer, ties to even (as std::nearbyint, which does not vectorise).
  constexpr float kRound = 12582912.f;
  for (i = 0; i < n; ++i) {
    int32_t x = static_cast<int32_t>((v[i] * inverse + kRound) - kRound);
    x = x > 127 ? 127 : x;  // |v| <= max|v|: a guard against rounding only
    q[i] = static_cast<int8_t>(x < -127 ? -127 : x);
  }
  return scale;
}

// The int8 linear layer's epilogue on one row (onednn_matmul.h):
// y = y s + bias, then GELU, then + residual; the pointers may be null.
struct RowEpilogue {
  const float* bias;
  const float* residual;
  bool gelu;
};

inline __attribute__((always_inline)) void dequantize_row(float* y, float s, const RowEpilogue& e, int64_t n) {
  if (e.bias != nullptr) {
    for (int64_t i = 0; i < n; ++i) y[i] = y[i] * s + e.bias[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] *= s;
  }
  if (e.gelu)
    for (int64_t i = 0; i < n; ++i) y[i] = gelu_erf(y[i]);
  if (e.residual != nullptr)
    for (int64_t i = 0; i < n; ++i) y[i] += e.residual[i];
}

struct RowKernels {
  float (*quantize)(const float*, int8_t*, int64_t);
  void (*dequantize)(float*, float, const RowEpilogue&, int64_t);
};

__attribute__((target("avx512f"))) float quantize_avx512(const float* v, int8_t* q, int64_t n) { return quantize_row(v, q, n); }
__attribute__((target("avx512f"))) void dequantize_avx512(float* y, float s, const RowEpilogue& e, int64_t n) {
  dequantize_row(y, s, e, n);
}
__attribute__((target("avx2"))) float quantize_avx2(const float* v, int8_t* q, int64_t n) { return quantize_row(v, q, n); }
__attribute__((target("avx2,fma"))) void dequantize_avx2(float* y, float s, const RowEpilogue& e, int64_t n) {
  dequantize_row(y, s, e, n);
}
float quantize_plain(const float* v, int8_t* q, int64_t n) { return quantize_row(v, q, n); }
void dequantize_plain(float* y, float s, const RowEpilogue& e, int64_t n) { dequantize_row(y, s, e, n); }

const RowKernels& row_kernels() {
  static const RowKernels kernels = pick_for_cpu(RowKernels{quantize_avx512, dequantize_avx512},
                                                 RowKernels{quantize_avx2, dequantize_avx2},
                                                 RowKernels{quantize_plain, dequantize_plain});
  return kernels;
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> quantize_rows(const torch::Tensor& v_any) {
  TORCH_CHECK(v_any.dim() == 2 && v_any.scalar_type() == torch::kFloat, "quantize_rows: expected a 2-D float32 tensor");
  const auto v = v_any.contiguous();
  const int64_t rows = v.size(0), columns = v.size(1);
  auto q = torch::empty({rows, columns}, v.options().dtype(torch::kChar));
  auto s = torch::empty({rows}, v.options());
  const float* in = v.data_ptr<float>();
  int8_t* out = q.data_ptr<int8_t>();
  float* scales = s.data_ptr<float>();
  const RowKernels& kernels = row_kernels();
  for_each_row(rows, columns, [&](int64_t r) { scales[r] = kernels.quantize(in + r * columns, out + r * columns, columns); });
  return {q, s};
}

void dequantize_rows_(torch::Tensor& y, const torch::Tensor& s_any, const torch::Tensor& bias_any, bool gelu,
                      const torch::Tensor& residual) {
  TORCH_CHECK(y.dim() == 2 && y.is_contiguous() && y.scalar_type() == torch::kFloat,
              "dequantize_rows_: expected a contiguous 2-D float32 tensor");
  const int64_t rows = y.size(0), columns = y.size(1);
  const auto s = s_any.to(torch::kFloat).contiguous();
  TORCH_CHECK(s.numel() == rows, "dequantize_rows_: one scale per row");
  torch::Tensor bias;
  if (bias_any.defined()) {
    bias = bias_any.to(torch::kFloat).contiguous();
    TORCH_CHECK(bias.numel() == columns, "dequantize_rows_: one bias per column");
  }
  TORCH_CHECK(!residual.defined() || (residual.sizes() == y.sizes() && residual.is_contiguous() &&
                                      residual.scalar_type() == torch::kFloat),
              "dequantize_rows_: the residual must be a contiguous float32 tensor shaped like y");
  float* out = y.data_ptr<float>();
  const float* scales = s.data_ptr<float>();
  const float* r = residual.defined() ? residual.data_ptr<float>() : nullptr;
  const float* b = bias.defined() ? bias.data_ptr<float>() : nullptr;
  const RowKernels& kernels = row_kernels();
  for_each_row(rows, columns, [&](int64_t row) {
    const RowEpilogue e{b, r ? r + row * columns : nullptr, gelu};
    kernels.dequantize(out + row * columns, scales[row], e, columns);
  });
}

}  // namespace gliclass::runtime
