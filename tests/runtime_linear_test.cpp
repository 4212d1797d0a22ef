// runtime::Linear: fp32 is torch::nn::Linear (oneDNN at inference); bf16 and
// int8 apply to inference only, stay within their rounding, follow weight
// updates, and move the golden models' logits by a bounded amount.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "gliclass/gliclass.h"
#include "runtime/linear.h"
#include "runtime/onednn_matmul.h"
#include "runtime/quantize.h"
#include "train/data.h"
#include "train/metrics.h"
#include "test_util.h"

using gliclass::DType;
using gliclass::runtime::Linear;

namespace {

// Largest |a - b| relative to the largest |a|.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / a.abs().max()).item<double>();
}

}  // namespace

TEST(RuntimeLinear, InferencePathsMatchTorchLinearWithinRounding) {
  torch::manual_seed(7);
  for (const bool bias : {true, false}) {
    Linear linear(torch::nn::LinearOptions(96, 40).bias(bias));
    linear->eval();
    const auto x = torch::randn({5, 7, 96});
    torch::Tensor fp32;
    {
      torch::NoGradGuard no_grad;
      fp32 = linear(x);
    }
    // Inference fp32 runs through oneDNN: torch's linear up to float rounding;
    // with autograd on it is torch's linear itself.
    EXPECT_LT(relative_error(torch::linear(x, linear->weight, linear->bias).detach(), fp32), 1e-5);
    EXPECT_TRUE(torch::equal(linear(x), torch::linear(x, linear->weight, linear->bias)));

    // bf16: 8-bit mantissas of x and W; int8: 127 steps of each row of x
    // and of each row of W. Accumulation in fp32 / int32 for both.
    for (const auto& [dtype, bound] : {std::pair{DType::kBFloat16, 2e-2}, {DType::kInt8, 4e-2}}) {
      SCOPED_TRACE(gliclass::dtype_name(dtype) + (bias ? " with bias" : " without bias"));
      linear->set_dtype(dtype);
      // With autograd on (training, fine-tuning) the layer stays torch's fp32.
      EXPECT_TRUE(torch::equal(linear(x), torch::linear(x, linear->weight, linear->bias)));
      torch::Tensor low;
      {
        torch::InferenceMode inference;
        low = linear(x);
      }
      EXPECT_EQ(low.scalar_type(), torch::kFloat);
      EXPECT_EQ(low.sizes(), fp32.sizes());
      const double err = relative_error(fp32, low);
      EXPECT_GT(err, 0.0) << "the low-precision arithmetic was not used";
      EXPECT_LT(err, bound);

      // The converted weights follow an in-place update of the fp32 ones.
      auto negate_parameters = [&] {
        torch::NoGradGuard no_grad;
        linear->weight.mul_(-1);
        if (bias) linear->bias.mul_(-1);
      };
      negate_parameters();
      {
        torch::InferenceMode inference;
        EXPECT_LT(relative_error(-fp32, linear(x)), bound);
      }
      negate_parameters();  // back, for the next dtype
    }
  }
}

TEST(RuntimeLinear, EpilogueEqualsItsOperationsOneByOne) {
  torch::manual_seed(11);
  const auto x = torch::randn({5, 7, 96}), residual = torch::randn({5, 7, 40});
  for (const bool bias : {true, false}) {
    Linear linear(torch::nn::LinearOptions(96, 40).bias(bias));
    linear->eval();
    for (const auto dtype : {DType::kFloat32, DType::kBFloat16, DType::kInt8}) {
      linear->set_dtype(dtype);
      for (const auto& [gelu, add] : {std::pair{true, false}, {false, true}, {true, true}}) {
        SCOPED_TRACE(gliclass::dtype_name(dtype) + (bias ? " bias" : "") + (gelu ? " gelu" : "") + (add ? " add" : ""));
        const gliclass::runtime::Epilogue epilogue{gelu, add ? residual : torch::Tensor()};
        auto one_by_one = [&](torch::Tensor y) {
          if (gelu) y = torch::gelu(y);
          return add ? y + residual : y;
        };
        // With autograd on: torch's operations themselves.
        EXPECT_TRUE(torch::equal(linear->forward_with(x, epilogue), one_by_one(linear(x))));
        torch::InferenceMode inference;
        const auto fused = linear->forward_with(x, epilogue);
        EXPECT_EQ(fused.sizes(), residual.sizes());
        // The same product; GELU's erf and the additions' roundings may differ.
        EXPECT_LT(relative_error(one_by_one(linear(x)), fused), 1e-5);
      }
    }
  }
}

// On AMX, products whose row count is not a multiple of 64 run in row parts
// (onednn_matmul.cpp): each row's result is the one it gets in a product of
// its own 64-row block, whatever the row count, for every epilogue.
TEST(RuntimeLinear, EveryRowCountGivesEachRowTheSameResult) {
  torch::manual_seed(13);
  const auto x = torch::randn({944, 96}), residual = torch::randn({944, 40});
  Linear linear(torch::nn::LinearOptions(96, 40));
  linear->eval();
  torch::InferenceMode inference;
  for (const auto dtype : {DType::kFloat32, DType::kBFloat16, DType::kInt8}) {
    linear->set_dtype(dtype);
    for (const int64_t m : {944, 193, 118, 61, 49, 17}) {
      SCOPED_TRACE(gliclass::dtype_name(dtype) + " m=" + std::to_string(m));
      const gliclass::runtime::Epilogue epilogue{true, residual.slice(0, 0, m)};
      const auto whole = linear->forward_with(x.slice(0, 0, m), epilogue);
      for (int64_t begin = 0; begin < m; begin += 64) {
        const int64_t end = std::min(m, begin + 64);
        const gliclass::runtime::Epilogue block_epilogue{true, residual.slice(0, begin, end)};
        const auto block = linear->forward_with(x.slice(0, begin, end), block_epilogue);
        EXPECT_LT(relative_error(block, whole.slice(0, begin, end)), 1e-5) << "rows " << begin << ".." << end;
      }
    }
  }
}

// The parts cover the rows in order, each of a row count oneDNN's AMX kernels
// block well (a multiple of 64, or at most 48); without AMX, one part.
TEST(RuntimeLinear, AmxRowPartsCoverTheRowsInWellBlockedCounts) {
  using gliclass::runtime::row_parts;
  for (int64_t m = 1; m <= 2000; ++m) {
    SCOPED_TRACE("m=" + std::to_string(m));
    EXPECT_EQ(row_parts(m, false), (std::vector<std::pair<int64_t, int64_t>>{{0, m}}));
    const auto parts = row_parts(m, true);
    ASSERT_FALSE(parts.empty());
    EXPECT_LE(parts.size(), 3u);
    int64_t next = 0;
    for (const auto& [begin, end] : parts) {
      EXPECT_EQ(begin, next);
      EXPECT_GT(end, begin);
      EXPECT_TRUE((end - begin) % 64 == 0 || end - begin <= 48) << begin << ".." << end;
      next = end;
    }
    EXPECT_EQ(next, m);
    if (m % 64 == 0 || m <= 48) EXPECT_EQ(parts.size(), 1u);
  }
}

TEST(RuntimeLinear, QuantisesRowsAsTorchsFormula) {
  torch::manual_seed(3);
  // 37 columns: the 16-lane loop and its tail; a zero row; a row of ties.
  auto v = torch::randn({9, 37}) * torch::arange(1, 10).unsqueeze(1);
  v[4].zero_();
  v[6] = torch::arange(-18, 19).to(torch::kFloat) + 0.5;  // max|v| = 127: s = 1, halves round to even
  v[6][36] = 127.0;
  const auto [q, s] = gliclass::runtime::quantize_rows(v);
  const auto expected_s = v.abs().amax(1).clamp_min(1e-12) / 127.0;
  EXPECT_TRUE(torch::allclose(s, expected_s, 1e-7, 0));
  const auto expected_q = (v * expected_s.reciprocal().unsqueeze(1)).round().clamp(-127, 127).to(torch::kChar);
  EXPECT_TRUE(torch::equal(q, expected_q)) << (q.to(torch::kInt) - expected_q.to(torch::kInt)).abs().max();
  EXPECT_TRUE(torch::equal(q[4], torch::zeros({37}, torch::kChar)));

  auto y = torch::randn({9, 37});
  const auto bias = torch::randn({37});
  const auto expected_y = y * s.unsqueeze(1) + bias;
  auto y_residual = y.clone();
  gliclass::runtime::dequantize_rows_(y, s, bias);
  EXPECT_TRUE(torch::allclose(y, expected_y, 1e-6, 1e-7));
  const auto residual = torch::randn({9, 37});
  gliclass::runtime::dequantize_rows_(y_residual, s, {}, false, residual);
  EXPECT_TRUE(torch::allclose(y_residual, (expected_y - bias) + residual, 1e-6, 1e-6));
}

TEST(RuntimeLinear, DequantisingGeluFollowsErfGelu) {
  // One row per value range (lane tails included: 1001 columns), scale 1.
  auto v = torch::stack({torch::linspace(-12, 12, 1001), torch::linspace(-1, 1, 1001),
                         torch::linspace(-200, 200, 1001)});
  auto y = v.clone();
  gliclass::runtime::dequantize_rows_(y, torch::ones({3}), {}, true);
  const auto expected = torch::gelu(v.to(torch::kDouble));
  const auto error = (y.to(torch::kDouble) - expected).abs() / (1 + v.abs().to(torch::kDouble));
  EXPECT_LT(error.max().item<double>(), 3e-7);
  // Far negative: exactly 0 (no cancellation into noise); NaN stays NaN.
  auto edges = torch::tensor({{-50.f, -1e30f, std::nanf("")}});
  gliclass::runtime::dequantize_rows_(edges, torch::ones({1}), {}, true);
  EXPECT_EQ(edges[0][0].item<float>(), 0.f);
  EXPECT_EQ(edges[0][1].item<float>(), 0.f);
  EXPECT_TRUE(std::isnan(edges[0][2].item<float>()));
}

TEST(RuntimeLinear, DTypeNames) {
  EXPECT_EQ(gliclass::dtype_from_name("bf16"), DType::kBFloat16);
  EXPECT_EQ(gliclass::dtype_from_name("int8"), DType::kInt8);
  EXPECT_EQ(gliclass::dtype_name(DType::kFloat32), "fp32");
  EXPECT_EQ(gliclass::dtype_name(DType::kInt8), "int8");
  try {
    gliclass::dtype_from_name("fp16");
    ADD_FAILURE() << "fp16 accepted";
  } catch (const gliclass::InputError& e) {
    EXPECT_TRUE(gliclass::testing::contains(e.what(), "fp16")) << e.what();
  }
}

class LowPrecisionClassifier : public ::testing::TestWithParam<DType> {};

TEST_P(LowPrecisionClassifier, StaysNearFp32OnEveryGoldenCase) {
  GLICLASS_REQUIRE_GOLDEN();
  const DType dtype = GetParam();
  double worst = 0;
  for (const auto& name : gliclass::testing::golden_cases("uni-encoder", "")) {
    const auto dir = gliclass::testing::golden_dir() / name;
    const auto cases = gliclass::testing::read_json(dir / "cases.json");
    if (!cases.contains("inputs")) continue;
    gliclass::ClassifierOptions options;
    options.max_length = cases.at("pipeline").at("max_length").get<int64_t>();
    const auto fp32 = gliclass::Classifier::load(dir.string(), options);
    options.dtype = dtype;
    const auto low = gliclass::Classifier::load(dir.string(), options);
    double scale = 1, diff = 0;  // over the case's inputs
    for (const auto& input : cases.at("inputs")) {
      gliclass::ClassifyRequest r{input.at("text").get<std::string>(),
                                  input.at("labels").get<std::vector<std::string>>()};
      const auto a = fp32.classify(r), b = low.classify(r);
      ASSERT_EQ(a.logits.size(), b.logits.size());
      for (size_t k = 0; k < a.logits.size(); ++k) {
        scale = std::max(scale, double(std::abs(a.logits[k])));
        diff = std::max(diff, double(std::abs(a.logits[k] - b.logits[k])));
      }
    }
    worst = std::max(worst, diff / scale);
  }
  // Random tiny models (hidden 32) are sensitive: bf16 moved logits by up to
  // 7% of the case's largest; int8 by up to 81% on deberta_last_hopfield
  // (its iterated update amplifies the steps), under 30% elsewhere. The
  // accuracy cost on a trained model is the next test (and docs/performance.md).
  std::cout << "[ " << gliclass::dtype_name(dtype) << " ] max |logit - logit(fp32)| / max(1, max |logit|) per golden case: "
            << worst << "\n";
  EXPECT_GT(worst, 0.0);
  EXPECT_LT(worst, dtype == DType::kInt8 ? 1.0 : 0.15);
}

// Issue 11's bounds on debtags dev with the bundled (trained) model: |ΔF1| <=
// 0.5 pt for bf16 and 1 pt for int8 (measured on all 2,908 texts: micro-F1
// 0.8118 fp32, 0.8117 bf16, 0.8118 int8). Here on the first 300.
TEST_P(LowPrecisionClassifier, KeepsTheBundledModelsF1OnDebtagsDev) {
  const auto dev = gliclass::testing::shared_dir() / "data" / "debtags" / "dev.jsonl";
  if (!std::filesystem::exists(dev)) GTEST_SKIP() << "no " << dev << " (../shared is not beside the checkout)";
  const DType dtype = GetParam();
  auto examples = gliclass::train::load_examples(dev);
  examples.resize(std::min<size_t>(examples.size(), 300));
  const auto model = std::filesystem::path(__FILE__).parent_path().parent_path() / "models" / "gliclass-debtags-tiny";
  auto micro_f1 = [&](DType d) {
    gliclass::ClassifierOptions options;
    options.dtype = d;
    const auto classifier = gliclass::Classifier::load(model.string(), options);
    std::vector<gliclass::train::ScoredExample> scored;
    for (const auto& ex : examples) {
      const auto result = classifier.classify(gliclass::train::to_request(ex));
      gliclass::train::ScoredExample s;
      s.labels = result.labels;
      s.scores = result.scores;
      for (const auto& label : result.labels)
        s.truth.push_back(std::any_of(ex.true_labels.begin(), ex.true_labels.end(),
                                      [&](const auto& t) { return t.first == label; }));
      scored.push_back(std::move(s));
    }
    return gliclass::train::evaluate(scored, 0.5, false).micro_f1;
  };
  const double fp32 = micro_f1(DType::kFloat32), low = micro_f1(dtype);
  std::cout << "[ " << gliclass::dtype_name(dtype) << " ] micro-F1 " << low << " vs fp32 " << fp32 << "\n";
  EXPECT_GT(fp32, 0.5) << "the bundled model should be trained";
  EXPECT_LE(std::abs(low - fp32), dtype == DType::kInt8 ? 0.01 : 0.005);
}

INSTANTIATE_TEST_SUITE_P(RuntimeLinear, LowPrecisionClassifier, ::testing::Values(DType::kBFloat16, DType::kInt8),
                         [](const auto& info) { return gliclass::dtype_name(info.param); });
