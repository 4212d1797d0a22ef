#include "encoders/deberta_v2_scores.h"

#include <algorithm>
#include <vector>

#include "runtime/cpu_dispatch.h"
#include "runtime/softmax.h"

namespace gliclass::encoders {
namespace {

// A term's product as a pointer; row r's value for other token o sits at
// column columns[n-1-r+o], or n-1-r+o, so row r of the shifted form is the
// wide row from column n-1-r on. (The columns are an [n, n] index i, j ->
// rows[j-i+n-1] kept as its one diagonal vector: it stays in L1.)
struct TermView {
  const float* wide = nullptr;
  int64_t n = 0, width = 0;
  const int64_t* columns = nullptr;  // [2n-1] or null

  TermView(const RelativeTerm& t, int64_t tokens) : n(tokens) {
    if (!t.wide.defined()) return;
    TORCH_CHECK(t.wide.dim() == 2 && t.wide.size(0) == n && t.wide.is_contiguous() &&
                    t.wide.scalar_type() == torch::kFloat,
                "disentangled_softmax_: a relative term must be a contiguous float32 [n, columns]");
    wide = t.wide.data_ptr<float>();
    width = t.wide.size(1);
    TORCH_CHECK(t.columns.defined() || width == 2 * n - 1, "disentangled_softmax_: a wide term needs 2n-1 columns");
    if (t.columns.defined()) {
      TORCH_CHECK(t.columns.numel() == 2 * n - 1 && t.columns.is_contiguous() &&
                      t.columns.scalar_type() == torch::kLong,
                  "disentangled_softmax_: columns must be a contiguous int64 [2n-1]");
      columns = t.columns.data_ptr<int64_t>();
    }
  }

  // Row r's values for o = 0..n-1, into `buffer` when gathered.
  inline __attribute__((always_inline)) const float* row(int64_t r, float* buffer) const {
    const float* w = wide + r * width;
    if (!columns) return w + (n - 1 - r);
    const int64_t* c = columns + (n - 1 - r);
    for (int64_t o = 0; o < n; ++o) buffer[o] = w[c[o]];
    return buffer;
  }
};

// disentangled_softmax_'s body, inlined into the copies below: per row, the
// relative terms added, then the softmax (the row still in L1).
// p2c[i, j] is row j's value for i: transposed first, in blocks of 16 rows
// so that each store fills a 64-byte line (column by column, every store
// touched another line: a quarter of the time at n = 753). Divisions only in
// contiguous loops, which the compiler vectorises.
inline __attribute__((always_inline)) void terms_softmax(float* scores, int64_t n, const TermView& c2p,
                                                         const TermView& p2c, float scale) {
  constexpr int64_t kBlock = 16;
  std::vector<float> gathered(static_cast<size_t>(kBlock * n)), p2c_t(p2c.wide ? static_cast<size_t>(n * n) : 0);
  for (int64_t j0 = 0; p2c.wide && j0 < n; j0 += kBlock) {
    const int64_t rows = std::min(kBlock, n - j0);
    const float* values[kBlock];
    for (int64_t b = 0; b < rows; ++b) values[b] = p2c.row(j0 + b, gathered.data() + b * n);
    for (int64_t i = 0; i < n; ++i) {
      float* out = p2c_t.data() + i * n + j0;
      for (int64_t b = 0; b < rows; ++b) out[b] = values[b][i];
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    float* row = scores + i * n;
    const float* c = c2p.wide ? c2p.row(i, gathered.data()) : nullptr;
    const float* p = p2c.wide ? p2c_t.data() + i * n : nullptr;
    if (c && p) {
      for (int64_t j = 0; j < n; ++j) row[j] += c[j] / scale + p[j] / scale;
    } else if (c || p) {  // HF: 0 + term / s
      const float* term = c ? c : p;
      for (int64_t j = 0; j < n; ++j) row[j] += term[j] / scale;
    }
    runtime::softmax_rows_(row, 1, n);
  }
}

using TermsSoftmax = void (*)(float*, int64_t, const TermView&, const TermView&, float);
__attribute__((target("avx512f"))) void terms_softmax_avx512(float* s, int64_t n, const TermView& c,
                                                             const TermView& p, float scale) {
  terms_softmax(s, n, c, p, scale);
}
__attribute__((target("avx2,fma"))) void terms_softmax_avx2(float* s, int64_t n, const TermView& c,
                                                            const TermView& p, float scale) {
  terms_softmax(s, n, c, p, scale);
}
void terms_softmax_plain(float* s, int64_t n, const TermView& c, const TermView& p, float scale) {
  terms_softmax(s, n, c, p, scale);
}

}  // namespace

void disentangled_softmax_(torch::Tensor& scores, const RelativeTerm& c2p_term, const RelativeTerm& p2c_term,
                           float scale) {
  TORCH_CHECK(scores.dim() == 2 && scores.size(0) == scores.size(1) && scores.is_contiguous() &&
                  scores.scalar_type() == torch::kFloat,
              "disentangled_softmax_: scores must be a contiguous float32 [n, n]");
  static const TermsSoftmax kernel =
      runtime::pick_for_cpu<TermsSoftmax>(terms_softmax_avx512, terms_softmax_avx2, terms_softmax_plain);
  const int64_t n = scores.size(0);
  kernel(scores.data_ptr<float>(), n, TermView(c2p_term, n), TermView(p2c_term, n), scale);
}

}  // namespace gliclass::encoders
