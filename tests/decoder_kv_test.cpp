// Decoder-kv (Qwen3) parity with the Python reference on the qwen3_decoder_kv
// golden case: the slow Qwen2 tokenizer's ids, the decoder and scorer
// intermediates, every input's logits alone, the reference's padded batch,
// batch invariance, and the Classifier's pipeline outputs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "gliclass/classifier.h"
#include "io/config.h"
#include "model/decoder_kv.h"
#include "model/model.h"
#include "test_util.h"
#include "tokenize/tokenizer.h"

namespace gt = gliclass::testing;
namespace gm = gliclass::model;
using nlohmann::json;

namespace {

constexpr double kLogitTolerance = 1e-4;  // decisions.md: absolute or relative
constexpr double kBatchTolerance = 1e-5;

std::filesystem::path case_dir() { return gt::golden_dir() / "qwen3_decoder_kv"; }

#define SKIP_WITHOUT_GOLDEN()                                                                       \
  if (!std::filesystem::exists(case_dir() / "cases.json"))                                          \
    GTEST_SKIP() << "golden case " << case_dir() << " is absent (needs ../shared/golden)"

bool within(double got, double want, double tol) { return std::abs(got - want) <= tol * std::max(1.0, std::abs(want)); }

torch::Tensor row_tensor(const std::vector<int64_t>& v) {
  return torch::tensor(v, torch::kLong).unsqueeze(0);
}

torch::Tensor golden_tensor(const json& nested) {
  std::vector<float> flat;
  std::vector<int64_t> shape;
  std::function<void(const json&, size_t)> walk = [&](const json& j, size_t depth) {
    if (!j.is_array()) {
      flat.push_back(j.get<float>());
      return;
    }
    if (shape.size() <= depth) shape.push_back(static_cast<int64_t>(j.size()));
    for (const auto& x : j) walk(x, depth + 1);
  };
  walk(nested, 0);
  return torch::tensor(flat).view(shape);
}

class DecoderKvGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(case_dir() / "cases.json"))
      GTEST_SKIP() << "golden case " << case_dir() << " is absent (needs ../shared/golden)";
    cases_ = gt::read_json(case_dir() / "cases.json");
    config_ = gliclass::io::GLiClassConfig::from_file(case_dir() / "config.json");
    model_ = gm::load_model(case_dir(), config_);
  }
  gm::ModelOutput run(const std::vector<std::vector<int64_t>>& rows, int64_t num_classes) {
    size_t width = 0;
    for (const auto& r : rows) width = std::max(width, r.size());
    auto ids = torch::full({static_cast<int64_t>(rows.size()), static_cast<int64_t>(width)}, 957, torch::kLong);
    auto mask = torch::zeros_like(ids);
    for (size_t b = 0; b < rows.size(); ++b)
      for (size_t t = 0; t < rows[b].size(); ++t) {
        ids[b][t] = rows[b][t];
        mask[b][t] = 1;
      }
    c10::InferenceMode guard;
    gm::ModelInput in;
    in.input_ids = ids;
    in.attention_mask = mask;
    in.num_classes = num_classes;
    return model_->forward(in);
  }

  json cases_;
  gliclass::io::GLiClassConfig config_;
  gm::ModelPtr model_;
};

}  // namespace

TEST(DecoderKvTokenizer, SlowQwen2IdsEqualTheReference) {
  SKIP_WITHOUT_GOLDEN();
  const json cases = gt::read_json(case_dir() / "cases.json");
  auto tok = gliclass::tokenize::Tokenizer::from_dir(case_dir());
  EXPECT_EQ(tok->pad_id(), 957);
  EXPECT_TRUE(tok->prefix_ids().empty());
  EXPECT_TRUE(tok->suffix_ids().empty());
  for (const auto& item : cases.at("inputs")) {
    const auto want = item.at("input_ids").get<std::vector<int64_t>>();
    auto context = tok->encode(item.at("context_string").get<std::string>()).ids;
    const auto labels = tok->encode(item.at("labels_string").get<std::string>()).ids;
    // The pipeline's truncation: context cut to max(1, 512 - label ids).
    context.resize(std::min(context.size(), std::max<size_t>(1, 512 - labels.size())));
    context.insert(context.end(), labels.begin(), labels.end());
    EXPECT_EQ(context, want) << item.at("id");
    if (item.at("id") == "basic_multi") {
      EXPECT_EQ(tok->encode(item.at("context_string").get<std::string>()).tokens.at(1), "Ġnew");
    }
  }
}

TEST_F(DecoderKvGolden, IntermediatesMatchTheReference) {
  const json& first = cases_.at("inputs").at(0);
  const json& taps = first.at("intermediates");
  auto* kv = dynamic_cast<gm::DecoderKVImpl*>(model_.get());
  ASSERT_NE(kv, nullptr);
  c10::InferenceMode guard;
  const auto ids = first.at("input_ids").get<std::vector<int64_t>>();
  gliclass::encoders::EncoderInput in;
  in.input_ids = row_tensor(ids);
  in.attention_mask = torch::ones_like(in.input_ids);
  auto decoded = kv->decoder_model->forward(in).last_hidden_state;
  auto want = golden_tensor(taps.at("decoder_model")[0].at("last_hidden_state"));
  EXPECT_LT((decoded - want).abs().max().item<double>(), kLogitTolerance);

  auto section_in = golden_tensor(taps.at("scorer_encoder")[0].at("input"));
  const int64_t start = gm::label_section_start(ids.data(), static_cast<int64_t>(ids.size()), 958, 959);
  EXPECT_EQ(static_cast<int64_t>(ids.size()) - start, section_in.size(1));
  EXPECT_LT((decoded.narrow(1, start, section_in.size(1)) - section_in).abs().max().item<double>(), kLogitTolerance);
  auto encoded = kv->scorer->scorer_encoder->forward(section_in, torch::ones({1, section_in.size(1)}, torch::kLong));
  auto want_encoded = golden_tensor(taps.at("scorer_encoder")[0].at("last_hidden_state"));
  EXPECT_LT((encoded.last_hidden_state - want_encoded).abs().max().item<double>(), kLogitTolerance);
}

TEST_F(DecoderKvGolden, EveryInputAloneMatchesTheReferenceLogits) {
  double worst = 0;
  for (const auto& item : cases_.at("inputs")) {
    const auto want = item.at("logits").get<std::vector<float>>();
    auto out = run({item.at("input_ids").get<std::vector<int64_t>>()}, static_cast<int64_t>(want.size()));
    ASSERT_GE(out.logits.size(1), static_cast<int64_t>(want.size())) << item.at("id");
    for (size_t k = 0; k < want.size(); ++k) {
      const double got = out.logits[0][static_cast<int64_t>(k)].item<double>();
      worst = std::max(worst, std::abs(got - want[k]));
      EXPECT_TRUE(within(got, want[k], kLogitTolerance)) << item.at("id") << " label " << k << ": " << got << " vs " << want[k];
    }
  }
  std::cout << "[decoder-kv] max |dlogit| alone: " << worst << "\n";
}

TEST_F(DecoderKvGolden, PaddedBatchMatchesTheReferenceAndAloneRuns) {
  const json& batch = cases_.at("batch");
  std::vector<std::vector<int64_t>> rows;
  for (const auto& r : batch.at("input_ids")) {
    std::vector<int64_t> ids = r.get<std::vector<int64_t>>();
    rows.push_back(ids);
  }
  // The stored rows are padded with 957: cut each to its attention mask.
  for (size_t b = 0; b < rows.size(); ++b) {
    const auto mask = batch.at("attention_mask")[b].get<std::vector<int64_t>>();
    rows[b].resize(static_cast<size_t>(std::count(mask.begin(), mask.end(), 1)));
  }
  auto together = run(rows, batch.at("max_num_classes").get<int64_t>());
  for (size_t b = 0; b < rows.size(); ++b) {
    const auto want = batch.at("logits")[b].get<std::vector<float>>();
    const size_t own = batch.at("labels")[b].size();
    auto alone = run({rows[b]}, static_cast<int64_t>(own));
    for (size_t k = 0; k < own; ++k) {
      const double got = together.logits[static_cast<int64_t>(b)][static_cast<int64_t>(k)].item<double>();
      EXPECT_TRUE(within(got, want[k], kLogitTolerance)) << "row " << b << " label " << k << ": " << got << " vs " << want[k];
      EXPECT_NEAR(got, alone.logits[0][static_cast<int64_t>(k)].item<double>(), kBatchTolerance) << "row " << b;
    }
  }
}

TEST_F(DecoderKvGolden, ClassifierGivesTheReferencePipelineOutputs) {
  gliclass::ClassifierOptions options;
  options.max_length = cases_.at("pipeline").at("max_length").get<int64_t>();
  auto clf = gliclass::Classifier::load(case_dir().string(), options);
  EXPECT_EQ(clf.architecture(), "decoder-kv");
  EXPECT_EQ(clf.backbone(), "qwen3");
  std::vector<gliclass::ClassifyRequest> requests;
  for (const auto& item : cases_.at("inputs")) {
    gliclass::ClassifyRequest r;
    r.text = item.at("text").get<std::string>();
    r.labels = item.at("labels").get<std::vector<std::string>>();
    if (item.at("prompt").is_string()) r.prompt = item.at("prompt").get<std::string>();
    if (item.at("examples").is_array())
      for (const auto& e : item.at("examples"))
        r.examples.push_back({e.at("text").get<std::string>(), e.at("labels").get<std::vector<std::string>>()});
    requests.push_back(std::move(r));
  }
  const auto together = clf.classify(requests);  // one call: padded, length-sorted batches
  gliclass::ClassifyOptions single;
  single.type = gliclass::ClassificationType::kSingleLabel;
  for (size_t i = 0; i < requests.size(); ++i) {
    const json& item = cases_.at("inputs")[i];
    const auto want = item.at("logits").get<std::vector<float>>();
    const auto alone = clf.classify(requests[i]);
    ASSERT_EQ(alone.logits.size(), want.size()) << item.at("id");
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_TRUE(within(alone.logits[k], want[k], kLogitTolerance)) << item.at("id") << " label " << k;
      EXPECT_NEAR(together[i].logits[k], alone.logits[k], kBatchTolerance) << item.at("id") << " label " << k;
    }
    EXPECT_EQ(alone.truncated, item.at("id") == "long_truncated") << item.at("id");
    std::vector<std::string> want_multi, got_multi;
    for (const auto& p : item.at("pipeline_multi_label_t0.5")) want_multi.push_back(p.at("label"));
    for (const auto& p : alone.predictions) got_multi.push_back(p.label);
    std::sort(want_multi.begin(), want_multi.end());
    std::sort(got_multi.begin(), got_multi.end());
    EXPECT_EQ(got_multi, want_multi) << item.at("id");
    const auto best = clf.classify(requests[i], single);
    ASSERT_EQ(best.predictions.size(), 1u) << item.at("id");
    EXPECT_EQ(best.predictions[0].label, item.at("pipeline_single_label")[0].at("label")) << item.at("id");
    EXPECT_NEAR(best.predictions[0].score, item.at("pipeline_single_label")[0].at("score").get<float>(), 1e-4);
  }
}
