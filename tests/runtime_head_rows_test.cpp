// runtime::head_rows against slicing, dividing and converting with torch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "runtime/head_rows.h"

namespace {

TEST(RuntimeHeadRows, EqualsTheHeadsSliceDividedAndConvertedAsTorchDoes) {
  torch::manual_seed(5);
  const int64_t tokens = 7, heads = 3;
  for (int64_t d : {1, 16, 20, 64}) {
    auto x = torch::randn({tokens, heads * d}) * 10;
    for (float divisor : {1.f, 8.f, 3.3f}) {
      for (int64_t h = 0; h < heads; ++h) {
        auto expected = x.narrow(1, h * d, d) / divisor;
        const float* from = x.data_ptr<float>() + h * d;
        auto f32 = torch::empty({tokens, d});
        gliclass::runtime::head_rows(from, heads * d, tokens, d, divisor, f32.data_ptr<float>());
        EXPECT_TRUE(f32.equal(expected)) << "d " << d << " divisor " << divisor << " head " << h;
        auto bf16 = torch::empty({tokens, d}, torch::kBFloat16);
        gliclass::runtime::head_rows(from, heads * d, tokens, d, divisor, reinterpret_cast<uint16_t*>(bf16.data_ptr()));
        EXPECT_TRUE(bf16.equal(expected.to(torch::kBFloat16))) << "d " << d << " divisor " << divisor << " head " << h;
      }
    }
  }
}

}  // namespace
