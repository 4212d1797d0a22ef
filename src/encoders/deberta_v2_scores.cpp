#include "encoders/deberta_v2_scores.h"

#include <vector>

#include "runtime/softmax.h"

namespace gliclass::encoders {
namespace {

// A term's product as a pointer; row r's value for other token o sits at
// column columns[n-1-r+o], or n-1-r+o, so row r of the shifted form is the
// wide row from column n-1-r on. (The columns are an [n, n] index i, j ->
// rows[j-i+n-1] kept as its one diagonal vector: it stays in L1.)
struct TermView {
  const float* wide = nullptr;
  int64_t width = 0;
  const int64_t* columns = nullptr;  // [2n-1] or null

  TermView(const RelativeTerm& t, int64_t n) {
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
  const float* row(int64_t n, int64_t r, float* buffer) const {
    const float* w = wide + r * width;
    if (!columns) return w + (n - 1 - r);
    const int64_t* c = columns + (n - 1 - r);
    for (int64_t o = 0; o < n; ++o) buffer[o] = w[c[o]];
    return buffer;
  }
};

}  // namespace

void disentangled_softmax_(torch::Tensor& scores, const RelativeTerm& c2p_term, const RelativeTerm& p2c_term,
                           float scale) {
  TORCH_CHECK(scores.dim() == 2 && scores.size(0) == scores.size(1) && scores.is_contiguous() &&
                  scores.scalar_type() == torch::kFloat,
              "disentangled_softmax_: scores must be a contiguous float32 [n, n]");
  const int64_t n = scores.size(0);
  const TermView c2p(c2p_term, n), p2c(p2c_term, n);
  std::vector<float> buffer(static_cast<size_t>(n));
  // p2c[i, j] is row j's value for i: transposed first, reading rows in order
  // (the [i, j] order walks them with a stride that aliases in L1).
  std::vector<float> p2c_t(p2c.wide ? static_cast<size_t>(n * n) : 0);
  for (int64_t j = 0; p2c.wide && j < n; ++j) {
    const float* values = p2c.row(n, j, buffer.data());
    for (int64_t i = 0; i < n; ++i) p2c_t[i * n + j] = values[i];
  }
  // Divisions only in contiguous loops, which the compiler vectorises.
  for (int64_t i = 0; i < n; ++i) {
    float* row = scores.data_ptr<float>() + i * n;
    const float* c = c2p.wide ? c2p.row(n, i, buffer.data()) : nullptr;
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

}  // namespace gliclass::encoders
