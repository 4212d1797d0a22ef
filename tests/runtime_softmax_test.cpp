// runtime::softmax_rows_ and softmax_window_ against torch::softmax.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "runtime/softmax.h"

namespace {

torch::Tensor own_softmax(torch::Tensor x) {
  x = x.clone().contiguous();
  gliclass::runtime::softmax_rows_(x.data_ptr<float>(), x.size(0), x.size(1));
  return x;
}

TEST(RuntimeSoftmax, MatchesTorchOnEveryLaneTail) {
  torch::manual_seed(5);
  for (int64_t columns : {1, 7, 16, 37, 193}) {
    auto x = torch::randn({6, columns}) * 8;
    x[1] += 500;  // far from 0: only differences count
    auto ours = own_softmax(x), expected = torch::softmax(x, -1);
    EXPECT_TRUE(torch::allclose(ours, expected, 1e-6, 1e-7)) << columns << ": " << (ours - expected).abs().max();
    EXPECT_TRUE(torch::allclose(ours.sum(1), torch::ones({6}), 1e-6, 0)) << columns;
  }
}

TEST(RuntimeSoftmax, MaskedEntriesGetZeroAndAllMaskedRowsAreUniform) {
  auto x = torch::randn({3, 21});
  const float lowest = std::numeric_limits<float>::lowest();
  x[0].narrow(0, 3, 5).fill_(lowest);
  x[1][20] = -std::numeric_limits<float>::infinity();
  x[2].fill_(lowest);
  auto ours = own_softmax(x), expected = torch::softmax(x, -1);
  EXPECT_TRUE(torch::allclose(ours, expected, 1e-6, 1e-7)) << (ours - expected).abs().max();
  EXPECT_TRUE(torch::equal(ours[0].narrow(0, 3, 5), torch::zeros({5})));
  EXPECT_EQ(ours[1][20].item<float>(), 0.f);
  EXPECT_TRUE(torch::allclose(ours[2], torch::full({21}, 1.0 / 21), 1e-7, 0));
}

TEST(RuntimeSoftmax, NaNStaysNaN) {
  auto x = torch::randn({1, 20});
  x[0][4] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(own_softmax(x).isnan().any().item<bool>());
}

// softmax_window_ against scaling, masking |r + shift - j| > window with the
// lowest float and torch::softmax; its bf16 output against torch's conversion.
TEST(RuntimeSoftmax, WindowEqualsScaledMaskedSoftmax) {
  torch::manual_seed(9);
  const float lowest = std::numeric_limits<float>::lowest();
  struct Case {
    int64_t rows, columns, window, shift;
  };
  for (const Case& c : {Case{5, 37, -1, 0}, Case{16, 48, 8, 8}, Case{16, 40, 8, 0}, Case{7, 193, 64, 0},
                        Case{3, 20, 0, 2}, Case{4, 10, 2, 30}}) {
    auto x = torch::randn({c.rows, c.columns}) * 6;
    const float scale = 0.125f;
    auto expected = x * scale;
    for (int64_t r = 0; r < c.rows; ++r)
      for (int64_t j = 0; j < c.columns; ++j)
        if (c.window >= 0 && std::abs(r + c.shift - j) > c.window) expected[r][j] = lowest;
    expected = torch::softmax(expected, -1);
    auto ours = x.clone(), scratch = x.clone();
    gliclass::runtime::softmax_window_(ours.data_ptr<float>(), c.rows, c.columns, {scale, c.window, c.shift}, nullptr);
    auto halves = torch::empty({c.rows, c.columns}, torch::kBFloat16);
    gliclass::runtime::softmax_window_(scratch.data_ptr<float>(), c.rows, c.columns, {scale, c.window, c.shift},
                                       reinterpret_cast<uint16_t*>(halves.data_ptr<at::BFloat16>()));
    for (int64_t r = 0; r < c.rows; ++r) {
      const int64_t query = r + c.shift;
      if (c.window >= 0 && (query + c.window < 0 || query - c.window >= c.columns)) {
        // No column within reach: all 0 (masking would have given a uniform row).
        EXPECT_TRUE(torch::equal(ours[r], torch::zeros({c.columns}))) << c.columns << " row " << r;
        continue;
      }
      EXPECT_TRUE(torch::allclose(ours[r], expected[r], 1e-6, 1e-7))
          << c.columns << " row " << r << ": " << (ours[r] - expected[r]).abs().max();
      for (int64_t j = 0; j < c.columns; ++j)
        if (c.window >= 0 && std::abs(query - j) > c.window) EXPECT_EQ(ours[r][j].item<float>(), 0.f);
    }
    EXPECT_TRUE(torch::equal(halves, ours.to(torch::kBFloat16))) << c.columns;
  }
}

}  // namespace
