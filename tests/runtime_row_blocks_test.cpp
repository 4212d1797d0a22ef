#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "runtime/row_blocks.h"

namespace {

using gliclass::runtime::by_row_blocks;

// A row-wise function with a wider output, as a feed-forward block's first half.
torch::Tensor widen(const torch::Tensor& rows) { return torch::cat({rows * 2, rows.sum(1, true)}, 1); }

TEST(RuntimeRowBlocks, EqualsOneCallAndSplitsLongInputsIntoEvenBlocks) {
  torch::NoGradGuard no_grad;
  for (int64_t total : {1, 300, 512, 513, 1544, 4096, 4097}) {
    auto x = torch::randn({total, 8});
    std::vector<int64_t> block_rows;
    auto y = by_row_blocks(x, [&](const torch::Tensor& rows) {
      block_rows.push_back(rows.size(0));
      return widen(rows);
    });
    EXPECT_TRUE(y.equal(widen(x))) << total;
    int64_t covered = 0;
    for (int64_t rows : block_rows) {
      EXPECT_LE(rows, 512) << total;
      covered += rows;
    }
    EXPECT_EQ(covered, total);
    if (total <= 512) EXPECT_EQ(block_rows.size(), 1u) << total;
    // Blocks of equal size but for the last, which is short by less than one
    // row per block: none is a sliver of a few rows.
    const auto blocks = static_cast<int64_t>(block_rows.size());
    for (int64_t rows : block_rows) EXPECT_GT(rows + blocks, block_rows.front()) << total;
  }
}

TEST(RuntimeRowBlocks, TakesRowsFromTheLeadingDimensions) {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({3, 700, 8});  // [B, L, D] as a padded batch
  int calls = 0;
  auto y = by_row_blocks(x, [&](const torch::Tensor& rows) {
    ++calls;
    EXPECT_EQ(rows.dim(), 2);
    return widen(rows);
  });
  EXPECT_EQ(calls, 5);  // 2,100 rows in blocks of at most 512
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{3, 700, 9}));
  EXPECT_TRUE(y.equal(widen(x.reshape({-1, 8})).view({3, 700, 9})));
}

TEST(RuntimeRowBlocks, RunsOnceUnderAutogradAndKeepsTheGradient) {
  auto x = torch::randn({1000, 4}, torch::requires_grad());
  int calls = 0;
  auto y = by_row_blocks(x, [&](const torch::Tensor& rows) {
    ++calls;
    return rows * 3;
  });
  EXPECT_EQ(calls, 1);
  y.sum().backward();
  EXPECT_TRUE(x.grad().equal(torch::full({1000, 4}, 3.f)));
}

TEST(RuntimeRowBlocks, RefusesAFunctionThatIsNotRowWise) {
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2000, 4});
  EXPECT_THROW(by_row_blocks(x, [](const torch::Tensor& rows) { return rows.sum(0, true); }), c10::Error);
}

}  // namespace
