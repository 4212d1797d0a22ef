#include "runtime/geglu.h"

#include "runtime/cpu_dispatch.h"
#include "runtime/vector_math.h"

namespace gliclass::runtime {
namespace {

inline __attribute__((always_inline)) void geglu_row(const float* x, float* y, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] = gelu_erf(x[j]) * x[n + j];
}

using GegluKernel = void (*)(const float*, float*, int64_t);
__attribute__((target("avx512f"))) void geglu_avx512(const float* x, float* y, int64_t n) { geglu_row(x, y, n); }
__attribute__((target("avx2,fma"))) void geglu_avx2(const float* x, float* y, int64_t n) { geglu_row(x, y, n); }
void geglu_plain(const float* x, float* y, int64_t n) { geglu_row(x, y, n); }

}  // namespace

torch::Tensor geglu(const torch::Tensor& x_in) {
  static const GegluKernel kernel = pick_for_cpu<GegluKernel>(geglu_avx512, geglu_avx2, geglu_plain);
  TORCH_CHECK(x_in.dim() == 2 && x_in.size(1) % 2 == 0 && x_in.scalar_type() == torch::kFloat && x_in.device().is_cpu(),
              "geglu: expected float32 [M, 2I] on the CPU, got ", x_in.sizes(), " ", x_in.scalar_type());
  const auto x = x_in.contiguous();
  const int64_t half = x.size(1) / 2;
  auto y = torch::empty({x.size(0), half}, x.options());
  const float* in = x.data_ptr<float>();
  float* out = y.data_ptr<float>();
  for_each_row(x.size(0), half, [&](int64_t r) { kernel(in + r * 2 * half, out + r * half, half); });
  return y;
}

}  // namespace gliclass::runtime
