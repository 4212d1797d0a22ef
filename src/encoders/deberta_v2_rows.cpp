#include "encoders/deberta_v2_rows.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "encoders/common.h"
#include "runtime/cpu_dispatch.h"
#include "runtime/head_rows.h"
#include "runtime/onednn_matmul.h"
#include "runtime/softmax.h"

namespace gliclass::encoders {
namespace {

// A term's product as a pointer; product row r, standing for token i, has
// its value for other token o at column columns[n-1-i+o], or n-1-i+o, so it
// is the wide row from column n-1-i on. (The columns are an [n, n] index
// i, j -> rows[j-i+n-1] kept as its one diagonal vector: it stays in L1.)
struct TermView {
  const float* wide = nullptr;
  int64_t n = 0, width = 0;
  const int64_t* columns = nullptr;  // [2n-1] or null

  TermView(const RelativeTerm& t, int64_t tokens) : wide(t.wide), n(tokens), width(t.width), columns(t.columns) {
    TORCH_CHECK(!wide || columns || width == 2 * n - 1, "disentangled_softmax_: a wide term needs 2n-1 columns");
  }

  // Product row r's (token i's) values for o = 0..n-1, into `buffer` when gathered.
  inline __attribute__((always_inline)) const float* row(int64_t r, int64_t i, float* buffer) const {
    const float* w = wide + r * width;
    if (!columns) return w + (n - 1 - i);
    const int64_t* c = columns + (n - 1 - i);
    for (int64_t o = 0; o < n; ++o) buffer[o] = w[c[o]];
    return buffer;
  }

  // out[b * stride + r] = token r's value for o = others[b], b < count, for
  // every token r: `count` columns of the transposed term (one product row
  // per token). others null: o = o0 + b.
  inline __attribute__((always_inline)) void transposed_rows(int64_t o0, const int64_t* others, int64_t count,
                                                             float* out, int64_t stride) const {
    for (int64_t r = 0; r < n; ++r) {
      const float* w = wide + r * width;
      const int64_t* c = columns ? columns + (n - 1 - r) : nullptr;
      const float* from = w + (n - 1 - r);
      if (others) {
        for (int64_t b = 0; b < count; ++b) out[b * stride + r] = c ? w[c[others[b]]] : from[others[b]];
      } else if (c) {
        for (int64_t b = 0; b < count; ++b) out[b * stride + r] = w[c[o0 + b]];
      } else {
        for (int64_t b = 0; b < count; ++b) out[b * stride + r] = from[o0 + b];
      }
    }
  }
};

// disentangled_softmax_'s body, inlined into the copies below: per query
// row, the relative terms added, then the softmax (the row still in L1).
// p2c[i, j] is token j's value for i: transposed for 16 queries i at a time
// into a [16, n] block that stays in cache (a whole [n, n] transpose,
// written and read back, left it at n = 753). Divisions only in contiguous
// loops, which the compiler vectorises.
inline __attribute__((always_inline)) void terms_softmax(float* scores, int64_t n, const TermView& c2p,
                                                         const TermView& p2c, float scale, uint16_t* bf16_out,
                                                         const int64_t* queries, int64_t m) {
  constexpr int64_t kBlock = 16;
  std::vector<float> gathered(static_cast<size_t>(n)), p2c_t(p2c.wide ? static_cast<size_t>(kBlock * n) : 0);
  for (int64_t r0 = 0; r0 < m; r0 += kBlock) {
    const int64_t rows = std::min(kBlock, m - r0);
    if (p2c.wide) p2c.transposed_rows(r0, queries ? queries + r0 : nullptr, rows, p2c_t.data(), n);
    for (int64_t r = r0; r < r0 + rows; ++r) {
      float* row = scores + r * n;
      const float* c = c2p.wide ? c2p.row(r, queries ? queries[r] : r, gathered.data()) : nullptr;
      const float* p = p2c.wide ? p2c_t.data() + (r - r0) * n : nullptr;
      if (c && p) {
        for (int64_t j = 0; j < n; ++j) row[j] += c[j] / scale + p[j] / scale;
      } else if (c || p) {  // HF: 0 + term / s
        const float* term = c ? c : p;
        for (int64_t j = 0; j < n; ++j) row[j] += term[j] / scale;
      }
      runtime::softmax_window_(row, 1, n, {}, bf16_out ? bf16_out + r * n : nullptr);
    }
  }
}

using TermsSoftmax = void (*)(float*, int64_t, const TermView&, const TermView&, float, uint16_t*, const int64_t*,
                              int64_t);
__attribute__((target("avx512f"))) void terms_softmax_avx512(float* s, int64_t n, const TermView& c,
                                                             const TermView& p, float scale, uint16_t* out,
                                                             const int64_t* queries, int64_t m) {
  terms_softmax(s, n, c, p, scale, out, queries, m);
}
__attribute__((target("avx2,fma"))) void terms_softmax_avx2(float* s, int64_t n, const TermView& c,
                                                            const TermView& p, float scale, uint16_t* out,
                                                            const int64_t* queries, int64_t m) {
  terms_softmax(s, n, c, p, scale, out, queries, m);
}
void terms_softmax_plain(float* s, int64_t n, const TermView& c, const TermView& p, float scale, uint16_t* out,
                         const int64_t* queries, int64_t m) {
  terms_softmax(s, n, c, p, scale, out, queries, m);
}

}  // namespace

void disentangled_softmax_(float* scores, int64_t n, const RelativeTerm& c2p, const RelativeTerm& p2c, float scale,
                           uint16_t* bf16_out, const std::vector<int64_t>* queries) {
  static const TermsSoftmax kernel =
      runtime::pick_for_cpu<TermsSoftmax>(terms_softmax_avx512, terms_softmax_avx2, terms_softmax_plain);
  const int64_t m = queries ? static_cast<int64_t>(queries->size()) : n;
  if (n > 0 && m > 0)
    kernel(scores, n, TermView(c2p, n), TermView(p2c, n), scale, bf16_out, queries ? queries->data() : nullptr, m);
}

torch::Tensor disentangled_attention_rows(const torch::Tensor& q_in, const torch::Tensor& k_in,
                                          const torch::Tensor& v_in, const DisentangledRows& rows, int64_t heads,
                                          float scale, bool bf16) {
  const auto q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  const ReadRows* queries = rows.queries;
  TORCH_CHECK(q.dim() == 2 && q.scalar_type() == torch::kFloat && k.dim() == 2 && k.size(1) == q.size(1) &&
                  v.sizes() == k.sizes() && k.scalar_type() == torch::kFloat && v.scalar_type() == torch::kFloat &&
                  q.size(0) == (queries ? queries->index.numel() : k.size(0)),
              "disentangled_attention_rows: q, k, v must be float32 [T, H*d] (q [T', H*d] with queries)");
  const int64_t width = q.size(1), d = width / heads;
  const PositionTables& tables = rows.tables;
  for (const auto& table : {tables.key, tables.query})
    TORCH_CHECK(!table.defined() || (table.dim() == 3 && table.size(0) == heads && table.size(2) == d &&
                                     table.size(1) == (tables.key.defined() ? tables.key : table).size(1) &&
                                     table.is_contiguous() &&
                                     table.scalar_type() == (bf16 ? torch::kBFloat16 : torch::kFloat)),
                "disentangled_attention_rows: position tables must be contiguous [H, W, d] in the products' type");
  const bool c2p = tables.key.defined(), p2c = tables.query.defined();
  const int64_t table_width = c2p ? tables.key.size(1) : p2c ? tables.query.size(1) : 0;  // the table's rows, W
  // Offset rows are read as raw indices into the table: checked once per length.
  auto table_rows = [&](const torch::Tensor& r, int64_t n) {
    if (r.dim() != 1 || r.numel() != 2 * n - 1 || r.scalar_type() != torch::kLong || !r.is_contiguous()) return false;
    const int64_t* p = r.data_ptr<int64_t>();
    const auto [lo, hi] = std::minmax_element(p, p + r.numel());
    return *lo >= 0 && *hi < table_width;
  };
  if (c2p || p2c) {
    for (int64_t n : rows.lengths)
      TORCH_CHECK(n == 0 || rows.offsets_by_length.count(n), "disentangled_attention_rows: no offset rows for length ", n);
    for (const auto& [n, o] : rows.offsets_by_length)
      TORCH_CHECK((!c2p || table_rows(o.c2p_rows, n)) && (!p2c || table_rows(o.p2c_rows, n)),
                  "disentangled_attention_rows: offset rows must be contiguous int64 [2n-1] rows of the table");
  }
  auto out = torch::empty_like(q);
  const size_t element = bf16 ? sizeof(uint16_t) : sizeof(float);

  for_each_row_and_head(static_cast<int64_t>(rows.lengths.size()), heads, [&](int64_t b, int64_t h) {
    const auto row = static_cast<size_t>(b);
    const int64_t n = rows.lengths[row];
    const std::vector<int64_t>* picked = queries ? &queries->positions[row] : nullptr;
    const int64_t m = picked ? static_cast<int64_t>(picked->size()) : n;  // query tokens
    if (n == 0 || m == 0) return;
    const int64_t first = rows.offsets[row] * width + h * d;
    const int64_t first_query = (queries ? queries->offsets[row] : rows.offsets[row]) * width + h * d;
    const RowOffsets* offsets = c2p || p2c ? &rows.offsets_by_length.at(n) : nullptr;
    // Dense [n, d] operands, one after the other: q ([m, d]), k/s, v, then k (p2c).
    std::unique_ptr<char[]> operands(new char[static_cast<size_t>((p2c ? 4 : 3) * n * d) * element]);
    auto operand = [&](int i) { return operands.get() + i * n * d * element; };
    auto copy = [&](const torch::Tensor& x, int64_t start, int64_t count, float divisor, int i) {
      const float* from = x.data_ptr<float>() + start;
      if (bf16)
        runtime::head_rows(from, width, count, d, divisor, reinterpret_cast<uint16_t*>(operand(i)));
      else
        runtime::head_rows(from, width, count, d, divisor, reinterpret_cast<float*>(operand(i)));
    };
    copy(q, first_query, m, 1.f, 0);
    copy(k, first, n, scale, 1);  // HF scales k before q.k
    copy(v, first, n, 1.f, 2);
    if (p2c) copy(k, first, n, 1.f, 3);

    // A term's right operand, [d, columns]: the head's [W, d] table (past
    // the table), or the rows its 2n-1 offsets read, copied into `own`.
    const int64_t columns = offsets && offsets->gathered ? table_width : 2 * n - 1;
    auto right = [&](const torch::Tensor& table, const torch::Tensor& table_rows, std::unique_ptr<char[]>& own) {
      const int64_t w = table.size(1);
      const char* head = static_cast<const char*>(table.data_ptr()) + h * w * d * element;
      if (offsets->gathered) return runtime::MatrixOperand{head, d, w, true};
      own.reset(new char[static_cast<size_t>(columns * d) * element]);
      const int64_t* r = table_rows.data_ptr<int64_t>();
      for (int64_t c = 0; c < columns; ++c)
        std::memcpy(own.get() + c * d * element, head + r[c] * d * element, d * element);
      return runtime::MatrixOperand{own.get(), d, columns, true};
    };
    auto term = [&](const float* wide, const torch::Tensor& table_rows) {
      return RelativeTerm{wide, columns, offsets->gathered ? table_rows.data_ptr<int64_t>() : nullptr};
    };
    std::unique_ptr<float[]> scores(new float[static_cast<size_t>(m * n)]);
    std::unique_ptr<float[]> c2p_wide(c2p ? new float[static_cast<size_t>(m * columns)] : nullptr);
    std::unique_ptr<float[]> p2c_wide(p2c ? new float[static_cast<size_t>(n * columns)] : nullptr);
    std::unique_ptr<uint16_t[]> probs(bf16 ? new uint16_t[static_cast<size_t>(m * n)] : nullptr);
    std::unique_ptr<float[]> heads_out(new float[static_cast<size_t>(m * d)]);
    std::unique_ptr<char[]> table_rows;

    runtime::matmul_into({operand(0), m, d}, {operand(1), d, n, true}, bf16, scores.get());
    RelativeTerm c2p_term, p2c_term;
    if (c2p) {
      runtime::matmul_into({operand(0), m, d}, right(tables.key, offsets->c2p_rows, table_rows), bf16, c2p_wide.get());
      c2p_term = term(c2p_wide.get(), offsets->c2p_rows);
    }
    if (p2c) {
      runtime::matmul_into({operand(3), n, d}, right(tables.query, offsets->p2c_rows, table_rows), bf16,
                           p2c_wide.get());
      p2c_term = term(p2c_wide.get(), offsets->p2c_rows);
    }
    disentangled_softmax_(scores.get(), n, c2p_term, p2c_term, scale, probs.get(), picked);
    const void* p = bf16 ? static_cast<const void*>(probs.get()) : scores.get();
    runtime::matmul_into({p, m, n}, {operand(2), n, d}, bf16, heads_out.get());
    float* to = out.data_ptr<float>() + first_query;
    for (int64_t r = 0; r < m; ++r) std::memcpy(to + r * width, heads_out.get() + r * d, d * sizeof(float));
  });
  return out;
}

}  // namespace gliclass::encoders
