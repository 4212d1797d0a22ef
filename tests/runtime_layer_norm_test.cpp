// runtime::layer_norm and runtime::LayerNorm against LibTorch's LayerNorm.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "runtime/layer_norm.h"

namespace {

using gliclass::runtime::layer_norm;

TEST(RuntimeLayerNorm, MatchesTorchWithAndWithoutAffineParameters) {
  torch::manual_seed(21);
  torch::NoGradGuard no_grad;
  for (int64_t n : {2, 5, 16, 37, 384, 768}) {  // n = 1: the constant row below
    auto x = torch::randn({3, 7, n}) * 3 + 40;  // far from 0: the variance must not cancel
    auto w = torch::randn({n}), b = torch::randn({n});
    for (bool affine : {true, false}) {
      const auto weight = affine ? w : torch::Tensor(), bias = affine ? b : torch::Tensor();
      auto ours = layer_norm(x, weight, bias, 1e-7);
      auto expected = torch::layer_norm(x, {n}, weight, bias, 1e-7);
      ASSERT_EQ(ours.sizes(), expected.sizes());
      EXPECT_TRUE(torch::allclose(ours, expected, 1e-4, 1e-4)) << n << ": " << (ours - expected).abs().max();
    }
  }
  // A constant row: x - mean = 0, so the result is the bias.
  auto constant = torch::full({2, 8}, 3.f), bias = torch::arange(8, torch::kFloat);
  EXPECT_TRUE(torch::equal(layer_norm(constant, torch::ones({8}), bias, 1e-5), bias.expand({2, 8})));
}

TEST(RuntimeLayerNorm, ModuleKeepsTorchsNamesAndGradients) {
  gliclass::runtime::LayerNorm norm(torch::nn::LayerNormOptions({6}).eps(1e-5));
  auto names = norm->named_parameters().keys();
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias"}));
  auto x = torch::randn({4, 6}, torch::requires_grad());
  norm(x).sum().backward();  // with grad: LibTorch's kernel
  ASSERT_TRUE(norm->weight.grad().defined());
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(norm(x), torch::layer_norm(x, {6}, norm->weight, norm->bias, 1e-5), 1e-5, 1e-6));
}

}  // namespace
