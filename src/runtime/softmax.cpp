#include "runtime/softmax.h"

#include "runtime/cpu_dispatch.h"
#include "runtime/vector_math.h"

namespace gliclass::runtime {
namespace {

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

// One row of softmax_window_: columns [lo, hi) scaled and normalised, the
// rest 0, then the optional bf16 copy.
inline __attribute__((always_inline)) void window_row(float* x, int64_t n, int64_t lo, int64_t hi, float scale,
                                                      uint16_t* copy) {
  for (int64_t j = lo; j < hi; ++j) x[j] *= scale;
  if (lo < hi) softmax_row(x + lo, hi - lo);
  for (int64_t j = 0; j < lo; ++j) x[j] = 0.f;
  for (int64_t j = hi; j < n; ++j) x[j] = 0.f;
  if (copy)
    for (int64_t j = 0; j < n; ++j) copy[j] = bf16_bits(x[j]);
}

using RowKernel = void (*)(float*, int64_t);
using WindowKernel = void (*)(float*, int64_t, int64_t, int64_t, float, uint16_t*);
__attribute__((target("avx512f"))) void softmax_avx512(float* x, int64_t n) { softmax_row(x, n); }
__attribute__((target("avx2,fma"))) void softmax_avx2(float* x, int64_t n) { softmax_row(x, n); }
void softmax_plain(float* x, int64_t n) { softmax_row(x, n); }
__attribute__((target("avx512f"))) void window_avx512(float* x, int64_t n, int64_t lo, int64_t hi, float scale,
                                                      uint16_t* copy) {
  window_row(x, n, lo, hi, scale, copy);
}
__attribute__((target("avx2,fma"))) void window_avx2(float* x, int64_t n, int64_t lo, int64_t hi, float scale,
                                                     uint16_t* copy) {
  window_row(x, n, lo, hi, scale, copy);
}
void window_plain(float* x, int64_t n, int64_t lo, int64_t hi, float scale, uint16_t* copy) {
  window_row(x, n, lo, hi, scale, copy);
}

}  // namespace

void softmax_rows_(float* x, int64_t rows, int64_t columns) {
  static const RowKernel kernel = pick_for_cpu<RowKernel>(softmax_avx512, softmax_avx2, softmax_plain);
  if (columns <= 0) return;
  for_each_row(rows, columns, [&](int64_t r) { kernel(x + r * columns, columns); });
}

}  // namespace gliclass::runtime

namespace gliclass::runtime {

void softmax_window_(float* x, int64_t rows, int64_t columns, const ScoreWindow& w, uint16_t* bf16_copy) {
  static const WindowKernel kernel = pick_for_cpu<WindowKernel>(window_avx512, window_avx2, window_plain);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t query = r + w.shift;
    const int64_t lo = w.window < 0 ? 0 : std::clamp<int64_t>(query - w.window, 0, columns);
    const int64_t hi = w.window < 0 ? columns : std::clamp<int64_t>(query + w.window + 1, 0, columns);
    kernel(x + r * columns, columns, lo, hi, w.scale, bf16_copy ? bf16_copy + r * columns : nullptr);
  }
}

}  // namespace gliclass::runtime
