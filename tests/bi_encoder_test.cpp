// Bi-encoder and bi-encoder-fused: parity with the reference on the golden
// cases (token ids of both tokenizers, model logits and embeddings, pipeline
// predictions, the reference's padded batch), and the label cache (hits keep
// the scores, the bound holds, concurrent callers are safe).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <thread>

#include "gliclass/gliclass.h"
#include "golden_requests.h"
#include "golden_tensors.h"
#include "io/config.h"
#include "model/bi_encoder.h"
#include "pipeline/bi_encoder_pipeline.h"
#include "pipeline/fit.h"
#include "test_util.h"

namespace gliclass {
namespace {

namespace gt = gliclass::testing;
using nlohmann::json;

std::vector<std::string> bi_encoder_cases() {
  auto names = gt::golden_cases("bi-encoder", "");
  for (const auto& n : gt::golden_cases("bi-encoder-fused", "")) names.push_back(n);
  return names;
}

// Largest |got - want| over all elements (same count, any shapes).
double diff(const torch::Tensor& got, const json& want) {
  return gt::max_abs_diff(got.reshape(-1), gt::json_tensor(want).reshape(-1));
}

struct Loaded {
  io::GLiClassConfig config;
  std::shared_ptr<model::BiEncoderImpl> model;
  std::shared_ptr<const tokenize::Tokenizer> tokenizer, label_tokenizer;
};

Loaded load(const std::filesystem::path& dir) {
  Loaded l;
  l.config = io::GLiClassConfig::from_file(dir / "config.json");
  l.model = std::dynamic_pointer_cast<model::BiEncoderImpl>(model::load_model(dir, l.config));
  l.tokenizer = tokenize::Tokenizer::from_dir(dir);
  l.label_tokenizer = pipeline::load_label_tokenizer(dir, l.config);
  return l;
}

TEST(BiEncoderParity, TokenIdsOfTextAndLabelsMatchTheReference) {
  GLICLASS_REQUIRE_GOLDEN();
  size_t inputs = 0;
  for (const auto& name : bi_encoder_cases()) {
    const auto dir = gt::golden_dir() / name;
    const auto cases = gt::read_json(dir / "cases.json");
    const auto l = load(dir);
    const bool fused = l.config.architecture_type == "bi-encoder-fused";
    const size_t max_length = cases.at("pipeline").at("max_length").get<size_t>();
    for (const auto& input : cases.at("inputs")) {
      const std::string id = name + "/" + input.at("id").get<std::string>();
      const auto req = gt::request_of(input);
      const auto layout = fused ? pipeline::build_fused_prompt(req.text, req.labels.size(), req.prompt, req.examples,
                                                               l.config.prompt_first)
                                : pipeline::build_bi_encoder_text(req.text, req.prompt);
      EXPECT_EQ(layout.str, input.at("model_input_string").get<std::string>()) << id;
      EXPECT_EQ(pipeline::fit_layout(*l.tokenizer, layout, max_length).ids,
                input.at("input_ids").get<std::vector<int64_t>>())
          << id;
      const auto& class_ids = input.at("class_input_ids");
      const auto& class_mask = input.at("class_attention_mask");
      for (size_t k = 0; k < req.labels.size(); ++k) {
        std::vector<int64_t> expected;
        for (size_t t = 0; t < class_ids[k].size(); ++t)
          if (class_mask[k][t].get<int>() == 1) expected.push_back(class_ids[k][t].get<int64_t>());
        EXPECT_EQ(l.label_tokenizer->encode_with_special_tokens(req.labels[k], max_length), expected)
            << id << " label " << k;
      }
      ++inputs;
    }
  }
  EXPECT_GT(inputs, 0u);
}

TEST(BiEncoderParity, ModelLogitsAndEmbeddingsMatchTheReference) {
  GLICLASS_REQUIRE_GOLDEN();
  for (const auto& name : bi_encoder_cases()) {
    const auto dir = gt::golden_dir() / name;
    const auto cases = gt::read_json(dir / "cases.json");
    const auto l = load(dir);
    torch::NoGradGuard no_grad;
    double worst = 0;
    for (const auto& input : cases.at("inputs")) {
      const std::string id = name + "/" + input.at("id").get<std::string>();
      model::ModelInput in;
      in.input_ids = torch::tensor(input.at("input_ids").get<std::vector<int64_t>>(), torch::kLong).unsqueeze(0);
      in.attention_mask = torch::ones_like(in.input_ids);
      in.class_input_ids = gt::ids_tensor(input.at("class_input_ids"));
      in.class_attention_mask = gt::ids_tensor(input.at("class_attention_mask"));
      in.labels_mask = torch::tensor(input.at("labels_mask").get<std::vector<int64_t>>(), torch::kLong).unsqueeze(0);
      in.num_classes = in.labels_mask.size(1);
      const auto out = l.model->forward(in);
      const double d = diff(out.logits, input.at("logits"));
      EXPECT_LE(d, 1e-4) << id;
      if (!input.at("text_embedding").is_null()) {  // stored for the first inputs only
        EXPECT_LE(diff(out.text_embeddings, input.at("text_embedding")), 1e-4) << id;
        EXPECT_LE(diff(out.class_embeddings, input.at("class_embeddings")), 1e-4) << id;
      }
      worst = std::max(worst, d);
    }
    // The reference's own padded batch (shared labels, one padded label batch).
    const auto& batch = cases.at("batch");
    model::ModelInput in;
    in.input_ids = gt::ids_tensor(batch.at("input_ids"));
    in.attention_mask = gt::ids_tensor(batch.at("attention_mask"));
    in.labels_mask = gt::ids_tensor(batch.at("labels_mask"));
    in.num_classes = in.labels_mask.size(1);
    // class_input_ids is [B,K,Lc] there; the model takes the labels_mask rows.
    json ids = json::array(), mask = json::array();
    for (size_t b = 0; b < batch.at("labels_mask").size(); ++b)
      for (size_t k = 0; k < batch.at("labels_mask")[b].size(); ++k)
        if (batch.at("labels_mask")[b][k].get<int>() == 1) {
          ids.push_back(batch.at("class_input_ids")[b][k]);
          mask.push_back(batch.at("class_attention_mask")[b][k]);
        }
    in.class_input_ids = gt::ids_tensor(ids);
    in.class_attention_mask = gt::ids_tensor(mask);
    const double d = diff(l.model->forward(in).logits, batch.at("logits"));
    EXPECT_LE(d, 1e-4) << name << " batch";
    std::cout << "[bi-encoder] " << name << " max |dlogit| alone " << worst << ", batch " << d << "\n";
  }
}

TEST(BiEncoderParity, ClassifierMatchesThePipelineOutputs) {
  GLICLASS_REQUIRE_GOLDEN();
  for (const auto& name : bi_encoder_cases()) {
    const auto dir = gt::golden_dir() / name;
    const auto cases = gt::read_json(dir / "cases.json");
    const auto clf = Classifier::load(dir.string(), gt::golden_options(cases));
    EXPECT_EQ(clf.architecture(), gt::read_json(dir / "config.json").at("architecture_type").get<std::string>());
    std::vector<ClassifyRequest> all;
    for (const auto& input : cases.at("inputs")) {
      const std::string id = name + "/" + input.at("id").get<std::string>();
      const auto req = gt::request_of(input);
      all.push_back(req);
      const auto multi = clf.classify(req);
      ClassifyOptions single;
      single.type = ClassificationType::kSingleLabel;
      const auto one = clf.classify(req, single);
      const auto expected = input.at("logits").get<std::vector<double>>();
      ASSERT_EQ(multi.logits.size(), expected.size()) << id;
      for (size_t k = 0; k < expected.size(); ++k)
        EXPECT_TRUE(gt::close(multi.logits[k], expected[k], 1e-4)) << id << " label " << k;
      EXPECT_EQ(gt::label_set(multi.predictions), gt::label_set(input.at("pipeline_multi_label_t0.5"))) << id;
      EXPECT_EQ(gt::label_set(one.predictions), gt::label_set(input.at("pipeline_single_label"))) << id;
    }
    // All inputs in one call (batched, labels shared through the cache) =
    // each alone.
    const auto together = clf.classify(all);
    for (size_t i = 0; i < all.size(); ++i) {
      const auto alone = clf.classify(all[i]);
      for (size_t k = 0; k < alone.logits.size(); ++k)
        EXPECT_NEAR(together[i].logits[k], alone.logits[k], 1e-5) << name << " input " << i;
    }
  }
}

// A classifier on the plain bi-encoder golden case with the given cache size.
Classifier bi_encoder(size_t cache_bytes) {
  ClassifierOptions o;
  o.label_cache_bytes = cache_bytes;
  return Classifier::load((gt::golden_dir() / "biencoder_deberta_bert").string(), o);
}

std::vector<ClassifyRequest> label_heavy_requests() {
  std::vector<ClassifyRequest> out;
  const std::vector<std::string> texts = {"The match went to extra time.", "Stocks fell after the report.",
                                          "A new vaccine trial started.", "The band announced a world tour."};
  for (size_t i = 0; i < 12; ++i) {
    ClassifyRequest r;
    r.text = texts[i % texts.size()];
    for (size_t k = 0; k < 6; ++k) r.labels.push_back("topic " + std::to_string((i + k) % 9));
    out.push_back(r);
  }
  return out;
}

TEST(LabelCache, HitsDoNotChangeScores) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto requests = label_heavy_requests();
  const auto uncached = bi_encoder(0).classify(requests);
  const auto cached = bi_encoder(size_t{1} << 20);
  const auto cold = cached.classify(requests);
  const auto warm = cached.classify(requests);
  for (size_t i = 0; i < requests.size(); ++i)
    for (size_t k = 0; k < requests[i].labels.size(); ++k) {
      EXPECT_NEAR(cold[i].logits[k], uncached[i].logits[k], 1e-6);
      EXPECT_EQ(warm[i].logits[k], cold[i].logits[k]);
    }
}

TEST(LabelCache, ConcurrentCallersGetTheSerialResults) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto requests = label_heavy_requests();
  const auto expected = bi_encoder(0).classify(requests);
  // A cache that holds a few labels only: threads evict each other's entries.
  const auto clf = bi_encoder(4 * (32 * sizeof(float) + 16));
  std::vector<std::thread> threads;
  std::vector<std::vector<ClassifyResult>> got(4);
  for (size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) got[t] = clf.classify(requests);
    });
  for (auto& th : threads) th.join();
  for (const auto& results : got)
    for (size_t i = 0; i < requests.size(); ++i)
      for (size_t k = 0; k < requests[i].labels.size(); ++k)
        EXPECT_NEAR(results[i].logits[k], expected[i].logits[k], 1e-6);
}

TEST(BiEncoderErrors, MissingLabelTokenizerIsNamed) {
  GLICLASS_REQUIRE_GOLDEN();
  gt::TempDir tmp("bi_encoder");
  const auto src = gt::golden_dir() / "biencoder_deberta_bert";
  for (const auto& e : std::filesystem::directory_iterator(src))
    if (e.is_regular_file()) std::filesystem::copy_file(e.path(), tmp.path / e.path().filename());
  try {
    Classifier::load(tmp.path.string());
    FAIL() << "expected a ModelError";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("label_tokenizer"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gliclass
