// DeBERTa's attention at inference, per (row, head) of a packed batch
// (AttentionPlan::lengths): from the q, k, v projections straight to the
// heads' outputs, the relative terms read from their wide products (no
// shifted, transposed or scaled copies of them), no tensor per buffer.
#pragma once
#include <torch/torch.h>

#include <map>
#include <vector>

#include "encoders/common.h"

namespace gliclass::encoders {

// One relative term of one (row, head) of n tokens: the product [n, width]
// (q . Kr^T for c2p, k . Qr^T for p2c); row r reads the column for other
// token o at columns[n-1-r+o] when columns [2n-1] are given (the table's
// rows per offset, past the table), else at n-1-r+o (the wide form, width
// 2n-1).
struct RelativeTerm {
  const float* wide = nullptr;  // null: the term is off
  int64_t width = 0;
  const int64_t* columns = nullptr;
};

// scores [n, n] = q.(k/s), in place:
//   scores[i,j] += c2p[i, col(i,j)] / s + p2c[j, col(j,i)] / s
// (HF's order of roundings), then softmax over j. With `bf16_out` the
// probabilities go there as bfloat16 bits and scores is left as scratch.
// With `queries` only those query tokens i (ascending): scores, c2p's rows
// and bf16_out hold one row per query ([m, n], [m, width]); p2c keeps a row
// per token.
void disentangled_softmax_(float* scores, int64_t n, const RelativeTerm& c2p, const RelativeTerm& p2c, float scale,
                           uint16_t* bf16_out = nullptr, const std::vector<int64_t>* queries = nullptr);

// The position side: each head's projections of the whole relative table
// ([H, W, d], contiguous; bfloat16 when the products run in bf16), and per
// row length n the table row of each offset column (int64 [2n-1]). Up to the
// table's size a (row, head) copies the rows its offsets read and takes the
// products against them (the wide form, [n, 2n-1]); past it (`gathered`) it
// takes them against the whole table ([n, W]) and reads them through the rows.
struct PositionTables {
  torch::Tensor key, query;  // c2p, p2c; undefined when the term is off
};
struct RowOffsets {
  torch::Tensor c2p_rows, p2c_rows;  // int64 [2n-1]
  bool gathered = false;
};

struct DisentangledRows {
  std::vector<int64_t> lengths, offsets;  // tokens of each row, and its first in [T]
  PositionTables tables;
  std::map<int64_t, RowOffsets> offsets_by_length;  // by row length (empty without relative attention)
  const ReadRows* queries = nullptr;      // only these query tokens; null: all
};

// q, k, v packed [T, H*d] float32 -> [T, H*d]: for each row and head,
//   softmax_j(q.(k/s) + c2p/s + p2c/s) v
// with q, k/s, k (p2c) and v copied once into dense [n, d] operands; the
// products in bfloat16 with float32 sums when `bf16`. With rows.queries, q
// and the result hold the selected query tokens alone ([T', H*d]).
torch::Tensor disentangled_attention_rows(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                          const DisentangledRows& rows, int64_t heads, float scale, bool bf16);

}  // namespace gliclass::encoders
