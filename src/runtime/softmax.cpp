#include "runtime/softmax.h"

#include "runtime/cpu_dispatch.h"
#include "runtime/vector_math.h"

namespace gliclass::runtime {
namespace {

// x[:n] = softmax(scale * x[:n]); the result goes to bf16_out (as bfloat16
// bits) instead when that is given, x then holding the exponentials.
inline __attribute__((always_inline)) void softmax_row(float* x, int64_t n, float scale, uint16_t* bf16_out) {
  constexpr int64_t kLanes = 16;  // reductions in lanes: a form the compiler vectorises
  float lanes[kLanes];
  float max = x[0] * scale;
  for (float& lane : lanes) lane = max;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) {
      x[i + j] *= scale;
      lanes[j] = x[i + j] > lanes[j] ? x[i + j] : lanes[j];
    }
  for (; i < n; ++i) {
    x[i] *= scale;
    max = x[i] > max ? x[i] : max;
  }
  for (float lane : lanes) max = lane > max ? lane : max;

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
  if (bf16_out) {
    for (i = 0; i < n; ++i) bf16_out[i] = bf16_bits(x[i] * inverse);
  } else {
    for (i = 0; i < n; ++i) x[i] *= inverse;
  }
}

// One row of softmax_window_: columns [lo, hi) of n.
inline __attribute__((always_inline)) void window_row(float* x, int64_t n, int64_t lo, int64_t hi, float scale,
                                                      uint16_t* bf16_out) {
  if (bf16_out) {
    if (lo < hi) softmax_row(x + lo, hi - lo, scale, bf16_out + lo);
    for (int64_t j = 0; j < lo; ++j) bf16_out[j] = 0;
    for (int64_t j = hi; j < n; ++j) bf16_out[j] = 0;
  } else {
    if (lo < hi) softmax_row(x + lo, hi - lo, scale, nullptr);
    for (int64_t j = 0; j < lo; ++j) x[j] = 0.f;
    for (int64_t j = hi; j < n; ++j) x[j] = 0.f;
  }
}

using RowKernel = void (*)(float*, int64_t);
using WindowKernel = void (*)(float*, int64_t, int64_t, int64_t, float, uint16_t*);
__attribute__((target("avx512f"))) void softmax_avx512(float* x, int64_t n) { softmax_row(x, n, 1.f, nullptr); }
__attribute__((target("avx2,fma"))) void softmax_avx2(float* x, int64_t n) { softmax_row(x, n, 1.f, nullptr); }
void softmax_plain(float* x, int64_t n) { softmax_row(x, n, 1.f, nullptr); }
__attribute__((target("avx512f"))) void window_avx512(float* x, int64_t n, int64_t lo, int64_t hi, float scale,
                                                      uint16_t* bf16_out) {
  window_row(x, n, lo, hi, scale, bf16_out);
}
__attribute__((target("avx2,fma"))) void window_avx2(float* x, int64_t n, int64_t lo, int64_t hi, float scale,
                                                     uint16_t* bf16_out) {
  window_row(x, n, lo, hi, scale, bf16_out);
}
void window_plain(float* x, int64_t n, int64_t lo, int64_t hi, float scale, uint16_t* bf16_out) {
  window_row(x, n, lo, hi, scale, bf16_out);
}

}  // namespace

void softmax_rows_(float* x, int64_t rows, int64_t columns) {
  static const RowKernel kernel = pick_for_cpu<RowKernel>(softmax_avx512, softmax_avx2, softmax_plain);
  if (columns <= 0) return;
  for_each_row(rows, columns, [&](int64_t r) { kernel(x + r * columns, columns); });
}

}  // namespace gliclass::runtime

namespace gliclass::runtime {

void softmax_window_(float* x, int64_t rows, int64_t columns, const ScoreWindow& w, uint16_t* bf16_out) {
  static const WindowKernel kernel = pick_for_cpu<WindowKernel>(window_avx512, window_avx2, window_plain);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t query = r + w.shift;
    const int64_t lo = w.window < 0 ? 0 : std::clamp<int64_t>(query - w.window, 0, columns);
    const int64_t hi = w.window < 0 ? columns : std::clamp<int64_t>(query + w.window + 1, 0, columns);
    kernel(x + r * columns, columns, lo, hi, w.scale, bf16_out ? bf16_out + r * columns : nullptr);
  }
}

}  // namespace gliclass::runtime
