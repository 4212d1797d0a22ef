// Softmax over the rows of a float32 matrix, in place, in one pass per row
// that the compiler vectorises (exp by Cephes' expf polynomial, relative error
// ~1e-7): attention's per-head softmax of a few hundred columns, where
// torch::softmax's per-call overhead and AVX2 exp took longer than the
// products around it.
#pragma once
#include <cstdint>

namespace gliclass::runtime {

// x[r, :] = exp(x[r, :] - max) / sum for each of `rows` rows of `columns`
// contiguous floats (rows split among threads). Entries more than 87.3 below the row's max (masked ones)
// get 0; a row of only masked entries is uniform, as torch's.
void softmax_rows_(float* x, int64_t rows, int64_t columns);

// Attention scores of a block of queries against a span of keys: row r's
// query sits at column r + shift. In place,
//   x[r, j] = softmax_j(scale * x[r, j]) over the columns j with
//   |r + shift - j| <= window (every column when window < 0), 0 elsewhere:
// the same numbers as scaling, masking the rest with a huge negative value
// and a full softmax (a row without such a column is all 0). When
// `bf16_out` is given the result goes there instead, as bfloat16 bits
// (rounded to nearest even, as torch's conversion), and x is left as
// scratch. Runs on the calling thread (attention's per-head loop is the
// parallel one).
struct ScoreWindow {
  float scale = 1.f;
  int64_t window = -1;
  int64_t shift = 0;
};
void softmax_window_(float* x, int64_t rows, int64_t columns, const ScoreWindow& w, uint16_t* bf16_out);

}  // namespace gliclass::runtime
