// DeBERTa's attention probabilities for one (row, head) at inference, with
// the relative terms read straight from their wide products: no shifted,
// transposed or scaled copies of them.
#pragma once
#include <torch/torch.h>

namespace gliclass::encoders {

// One relative term: a product [n, W] (q . Kr^T for c2p, k . Qr^T for p2c)
// and where row r reads the column for other token o: columns[n-1-r+o] when
// columns [2n-1] are given (the table's rows per offset, past the table),
// else n-1-r+o (the wide form, W = 2n-1).
struct RelativeTerm {
  torch::Tensor wide;     // undefined: the term is off
  torch::Tensor columns;  // int64 [2n-1], or undefined
};

// scores [n, n] = q.(k/s), in place:
//   scores[i,j] += c2p[i, col(i,j)] / s + p2c[j, col(j,i)] / s
// (HF's order of roundings), then softmax over j.
void disentangled_softmax_(torch::Tensor& scores, const RelativeTerm& c2p, const RelativeTerm& p2c, float scale);

}  // namespace gliclass::encoders
