#include "runtime/head_rows.h"

#include "runtime/cpu_dispatch.h"
#include "runtime/vector_math.h"

namespace gliclass::runtime {
namespace {

inline __attribute__((always_inline)) void store(float v, float* out) { *out = v; }
inline __attribute__((always_inline)) void store(float v, uint16_t* out) { *out = bf16_bits(v); }

// Divides only when it must (a division costs several multiplies), each
// row in fixed blocks of 16 that the compiler vectorises whole.
template <bool kDivide, class Out>
inline __attribute__((always_inline)) void copy_row(const float* x, int64_t d, float divisor, Out* out) {
  constexpr int64_t kLanes = 16;
  int64_t j = 0;
  for (; j + kLanes <= d; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) store(kDivide ? x[j + l] / divisor : x[j + l], out + j + l);
  for (; j < d; ++j) store(kDivide ? x[j] / divisor : x[j], out + j);
}

template <class Out>
inline __attribute__((always_inline)) void copy_rows(const float* x, int64_t stride, int64_t n, int64_t d,
                                                     float divisor, Out* out) {
  for (int64_t t = 0; t < n; ++t) {
    if (divisor == 1.f)
      copy_row<false>(x + t * stride, d, divisor, out + t * d);
    else
      copy_row<true>(x + t * stride, d, divisor, out + t * d);
  }
}

template <class Out>
using RowsKernel = void (*)(const float*, int64_t, int64_t, int64_t, float, Out*);

#define GLICLASS_HEAD_ROWS(suffix, target_attr)                                                                 \
  template <class Out>                                                                                          \
  target_attr void head_rows_##suffix(const float* x, int64_t stride, int64_t n, int64_t d, float divisor,      \
                                      Out* out) {                                                               \
    copy_rows(x, stride, n, d, divisor, out);                                                                   \
  }
GLICLASS_HEAD_ROWS(avx512, __attribute__((target("avx512f"))))
GLICLASS_HEAD_ROWS(avx2, __attribute__((target("avx2"))))
GLICLASS_HEAD_ROWS(plain, )
#undef GLICLASS_HEAD_ROWS

template <class Out>
RowsKernel<Out> pick() {
  return pick_for_cpu<RowsKernel<Out>>(head_rows_avx512<Out>, head_rows_avx2<Out>, head_rows_plain<Out>);
}

}  // namespace

void head_rows(const float* x, int64_t stride, int64_t n, int64_t d, float divisor, float* out) {
  static const RowsKernel<float> kernel = pick<float>();
  kernel(x, stride, n, d, divisor, out);
}

void head_rows(const float* x, int64_t stride, int64_t n, int64_t d, float divisor, uint16_t* out) {
  static const RowsKernel<uint16_t> kernel = pick<uint16_t>();
  kernel(x, stride, n, d, divisor, out);
}

}  // namespace gliclass::runtime
