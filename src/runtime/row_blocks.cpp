#include "runtime/row_blocks.h"

#include <algorithm>

namespace gliclass::runtime {

namespace {
// Rows of a block at most: [512, 3072] float32 is 6 MB.
constexpr int64_t kBlockRows = 512;
}  // namespace

torch::Tensor by_row_blocks(const torch::Tensor& input, const RowFunction& f) {
  if (torch::GradMode::is_enabled() || input.dim() < 2 || input.numel() / input.size(-1) <= kBlockRows)
    return f(input);
  const torch::Tensor x = input.reshape({-1, input.size(-1)});
  const int64_t total = x.size(0);
  // Blocks of equal size, so that no block is a sliver of a few rows.
  const int64_t blocks = (total + kBlockRows - 1) / kBlockRows;
  const int64_t rows = (total + blocks - 1) / blocks;
  torch::Tensor out;
  for (int64_t begin = 0; begin < total; begin += rows) {
    const int64_t count = std::min(rows, total - begin);
    torch::Tensor y = f(x.narrow(0, begin, count));
    TORCH_CHECK(y.dim() == 2 && y.size(0) == count, "by_row_blocks: f gave ", y.sizes(), " for ", count, " rows");
    if (!out.defined()) out = torch::empty({total, y.size(1)}, y.options());
    out.narrow(0, begin, count).copy_(y);
  }
  auto sizes = input.sizes().vec();
  sizes.back() = out.size(1);
  return out.view(sizes);
}

}  // namespace gliclass::runtime
