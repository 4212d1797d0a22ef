#include "runtime/softmax.h"

#include <cstring>

#include "runtime/cpu_dispatch.h"

namespace gliclass::runtime {
namespace {

// exp(x) for x <= 0 (Cephes expf): x = n ln2 + r, |r| <= ln2/2,
// exp(r) ~ 1 + r + r^2 P(r), times 2^n built in the exponent bits.
// 0 below -87.3 (e^-87.3 ~ 2^-126, the smallest normal float); NaN stays NaN.
inline __attribute__((always_inline)) float exp_nonpositive(float v) {
  float x = v > -87.3f ? v : -87.3f;  // the polynomial's input is finite, in [-87.3, 0]
  x = x < 0.f ? x : 0.f;
  constexpr float kRound = 12582912.f;  // 1.5 * 2^23: (v + kRound) - kRound rounds v to an integer
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // n in [-126, 0]
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return v >= -87.3f ? p * two_n : v < -87.3f ? 0.f : v;
}

inline __attribute__((always_inline)) void softmax_row(float* x, int64_t n) {
  constexpr int64_t kLanes = 16;  // reductions in lanes: a form the compiler vectorises
  float lanes[kLanes];
  int64_t i = 0;
  for (int64_t j = 0; j < kLanes; ++j) lanes[j] = x[0];
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
  float max = x[0];
  for (float lane : lanes) max = lane > max ? lane : max;
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;

  for (auto& lane : lanes) lane = 0.f;
  for (i = 0; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) {
      x[i + j] = exp_nonpositive(x[i + j] - max);
      lanes[j] += x[i + j];
    }
  float sum = 0.f;
  for (; i < n; ++i) {
    x[i] = exp_nonpositive(x[i] - max);
    sum += x[i];
  }
  for (float lane : lanes) sum += lane;
  const float inverse = 1.f / sum;
  for (i = 0; i < n; ++i) x[i] *= inverse;
}

using RowKernel = void (*)(float*, int64_t);
__attribute__((target("avx512f"))) void softmax_avx512(float* x, int64_t n) { softmax_row(x, n); }
__attribute__((target("avx2,fma"))) void softmax_avx2(float* x, int64_t n) { softmax_row(x, n); }
void softmax_plain(float* x, int64_t n) { softmax_row(x, n); }

}  // namespace

void softmax_rows_(float* x, int64_t rows, int64_t columns) {
  static const RowKernel kernel = pick_for_cpu<RowKernel>(softmax_avx512, softmax_avx2, softmax_plain);
  if (columns <= 0) return;
  for_each_row(rows, columns, [&](int64_t r) { kernel(x + r * columns, columns); });
}

}  // namespace gliclass::runtime
