// runtime::geglu against torch's erf GELU of the first half times the second.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "runtime/geglu.h"

namespace {

TEST(RuntimeGeglu, EqualsGeluOfFirstHalfTimesSecond) {
  torch::manual_seed(3);
  for (int64_t half : {1, 15, 16, 576}) {
    auto x = torch::randn({9, 2 * half}) * 4;
    x[0][0] = -200.f;  // GELU -> exactly 0
    auto expected = torch::gelu(x.narrow(1, 0, half)) * x.narrow(1, half, half);
    auto ours = gliclass::runtime::geglu(x);
    ASSERT_EQ(ours.sizes(), expected.sizes());
    // erf to ~1.5e-7 (Abramowitz & Stegun 7.1.26): GELU within 1e-7 |a|, times |g|.
    auto bound = 1e-6 * (1 + (x.narrow(1, 0, half) * x.narrow(1, half, half)).abs());
    EXPECT_TRUE((ours - expected).abs().le(bound).all().item<bool>()) << half << ": " << (ours - expected).abs().max();
    EXPECT_EQ(ours[0][0].item<float>(), 0.f);
  }
  auto nan = torch::ones({1, 4});
  nan[0][1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(gliclass::runtime::geglu(nan)[0][1].item<float>()));
}

TEST(RuntimeGeglu, RejectsOddWidthsAndOtherTypes) {
  EXPECT_THROW(gliclass::runtime::geglu(torch::ones({2, 3})), c10::Error);
  EXPECT_THROW(gliclass::runtime::geglu(torch::ones({2, 4}, torch::kDouble)), c10::Error);
  EXPECT_THROW(gliclass::runtime::geglu(torch::ones({4})), c10::Error);
}

}  // namespace
