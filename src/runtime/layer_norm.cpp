#include "runtime/layer_norm.h"

#include <cmath>

#include "runtime/cpu_dispatch.h"

namespace gliclass::runtime {
namespace {

struct Affine {
  const float *weight, *bias;  // either may be null
  float eps;
};

inline __attribute__((always_inline)) void norm_row(const float* x, float* y, int64_t n, const Affine& a) {
  constexpr int64_t kLanes = 16;  // sums in lanes: a form the compiler vectorises
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] += x[i + j];
  float sum = 0.f;
  for (; i < n; ++i) sum += x[i];
  for (float lane : lanes) sum += lane;
  const float mean = sum / static_cast<float>(n);
  for (float& lane : lanes) lane = 0.f;
  for (i = 0; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] += (x[i + j] - mean) * (x[i + j] - mean);
  float squares = 0.f;
  for (; i < n; ++i) squares += (x[i] - mean) * (x[i] - mean);
  for (float lane : lanes) squares += lane;
  const float rstd = 1.f / std::sqrt(squares / static_cast<float>(n) + a.eps);
  for (i = 0; i < n; ++i) {
    const float v = (x[i] - mean) * rstd;
    y[i] = (a.weight ? v * a.weight[i] : v) + (a.bias ? a.bias[i] : 0.f);
  }
}

using NormKernel = void (*)(const float*, float*, int64_t, const Affine&);
__attribute__((target("avx512f"))) void norm_avx512(const float* x, float* y, int64_t n, const Affine& a) {
  norm_row(x, y, n, a);
}
__attribute__((target("avx2,fma"))) void norm_avx2(const float* x, float* y, int64_t n, const Affine& a) {
  norm_row(x, y, n, a);
}
void norm_plain(const float* x, float* y, int64_t n, const Affine& a) { norm_row(x, y, n, a); }

bool plain_float(const torch::Tensor& t) {
  return !t.defined() || (t.scalar_type() == torch::kFloat && t.device().is_cpu() && t.is_contiguous());
}

}  // namespace

torch::Tensor layer_norm(const torch::Tensor& x_in, const torch::Tensor& weight, const torch::Tensor& bias,
                         double eps) {
  const int64_t n = x_in.dim() > 0 ? x_in.size(-1) : 0;
  if (torch::GradMode::is_enabled() || x_in.scalar_type() != torch::kFloat || !x_in.device().is_cpu() || n == 0 ||
      !plain_float(weight) || !plain_float(bias))
    return torch::layer_norm(x_in, {n}, weight, bias, eps);
  TORCH_CHECK((!weight.defined() || weight.numel() == n) && (!bias.defined() || bias.numel() == n),
              "layer_norm: weight and bias need ", n, " elements");
  static const NormKernel kernel = pick_for_cpu<NormKernel>(norm_avx512, norm_avx2, norm_plain);
  const auto x = x_in.contiguous();
  auto y = torch::empty_like(x);
  const Affine affine{weight.defined() ? weight.data_ptr<float>() : nullptr,
                      bias.defined() ? bias.data_ptr<float>() : nullptr, static_cast<float>(eps)};
  const float* in = x.data_ptr<float>();
  float* out = y.data_ptr<float>();
  for_each_row(x.numel() / n, n, [&](int64_t r) { kernel(in + r * n, out + r * n, n, affine); });
  return y;
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& input) {
  const auto& shape = options.normalized_shape();
  if (shape.size() != 1) return torch::nn::LayerNormImpl::forward(input);
  return layer_norm(input, weight, bias, options.eps());
}

}  // namespace gliclass::runtime
