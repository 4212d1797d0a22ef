// runtime::softmax_rows_ against torch::softmax.
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

}  // namespace
