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

}  // namespace gliclass::runtime
