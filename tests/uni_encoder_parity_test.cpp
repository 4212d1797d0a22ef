// Uni-encoder parity with the Python reference on every DeBERTa golden case:
// each input alone against the stored logits / embeddings, then batches
// against the alone results (batch invariance) and, for first/pass pooling,
// against the reference's own padded batch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "io/config.h"
#include "model/model.h"
#include "golden_tensors.h"
#include "test_util.h"

namespace gt = gliclass::testing;
using gt::compare_json;
using gt::Diff;
namespace gm = gliclass::model;
using nlohmann::json;

// Batch vs alone (issue 2: <= 1e-5). Inference linears run through oneDNN,
// whose matmul gives a row the same sums whatever the other rows, and DeBERTa
// attends each row at its own length, so the encoder is exact; the heads'
// small matmuls over K labels leave float32 rounding (measured <= 5.8e-6).
constexpr double kBatchTolerance = 1e-5;

namespace {

struct Alone {
  std::string id;
  std::vector<int64_t> ids;
  int64_t num_labels = 0;
  std::vector<float> logits;  // the reference's, for this input alone
  json text_embedding;        // may be null
  json class_embeddings;      // may be null
};

// Every stored single-input run of a case: "inputs", plus the pipeline_calls
// items (run alone there too).
std::vector<Alone> alone_inputs(const json& cases) {
  std::vector<Alone> out;
  auto add = [&](const json& item, const std::string& id) {
    Alone a;
    a.id = id;
    a.ids = item.at("input_ids").get<std::vector<int64_t>>();
    a.num_labels = static_cast<int64_t>(item.at("labels").size());
    a.logits = item.at("logits").get<std::vector<float>>();
    a.text_embedding = item.value("text_embedding", json());
    a.class_embeddings = item.value("class_embeddings", json());
    out.push_back(std::move(a));
  };
  for (const auto& item : cases.value("inputs", json::array())) add(item, item.at("id"));
  for (const auto& call : cases.value("pipeline_calls", json::array())) {
    int i = 0;
    for (const auto& item : call.at("items"))
      add(item, call.at("id").get<std::string>() + "[" + std::to_string(i++) + "]");
  }
  return out;
}

// Right-padded [B,L] ids and mask from ragged rows (pad id 0).
std::pair<torch::Tensor, torch::Tensor> pad_rows(const std::vector<std::vector<int64_t>>& rows) {
  size_t len = 0;
  for (const auto& r : rows) len = std::max(len, r.size());
  auto ids = torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(len)}, torch::kLong);
  auto mask = torch::zeros_like(ids);
  for (size_t b = 0; b < rows.size(); ++b) {
    auto n = static_cast<int64_t>(rows[b].size());
    ids[b].slice(0, 0, n).copy_(torch::tensor(rows[b], torch::kLong));
    mask[b].slice(0, 0, n).fill_(1);
  }
  return {ids, mask};
}

// A stored padded batch (input_ids + attention_mask as json) as tensors.
std::pair<torch::Tensor, torch::Tensor> stored_batch(const json& input_ids, const json& attention_mask) {
  auto rows = input_ids.get<std::vector<std::vector<int64_t>>>();
  auto masks = attention_mask.get<std::vector<std::vector<int64_t>>>();
  auto b = static_cast<int64_t>(rows.size()), len = static_cast<int64_t>(rows.at(0).size());
  auto ids = torch::empty({b, len}, torch::kLong), mask = torch::empty({b, len}, torch::kLong);
  for (int64_t i = 0; i < b; ++i) {
    ids[i].copy_(torch::tensor(rows[i], torch::kLong));
    mask[i].copy_(torch::tensor(masks[i], torch::kLong));
  }
  return {ids, mask};
}

torch::Tensor run(gm::GLiClassModelImpl& model, const torch::Tensor& ids, const torch::Tensor& mask,
                  int64_t k, gm::ModelOutput* out = nullptr) {
  torch::NoGradGuard no_grad;
  gm::ModelInput in;
  in.input_ids = ids;
  in.attention_mask = mask;
  in.num_classes = k;
  auto o = model.forward(in);
  if (out) *out = o;
  return o.logits;
}

struct Case {
  std::string name;
  std::filesystem::path dir;
  gliclass::io::GLiClassConfig config;
  json cases;
  gm::ModelPtr model;
};

std::vector<Case> load_cases() {
  std::vector<Case> out;
  for (const auto& name : gt::golden_cases("uni-encoder", "deberta")) {
    Case c;
    c.name = name;
    c.dir = gt::golden_dir() / name;
    c.config = gliclass::io::GLiClassConfig::from_file(c.dir / "config.json");
    c.cases = gt::read_json(c.dir / "cases.json");
    c.model = gm::load_model(c.dir, c.config);
    out.push_back(std::move(c));
  }
  return out;
}

// The reference cuts labels of long text-first inputs; this project keeps them
// (decisions.md), so those stored logits are not comparable.
bool skipped(const Case& c, const Alone& a) {
  return a.id == "long_truncated" && !c.config.prompt_first;
}

}  // namespace

TEST(UniEncoderParity, EachInputAloneMatchesReference) {
  GLICLASS_REQUIRE_GOLDEN();
  auto cases = load_cases();
  ASSERT_FALSE(cases.empty());
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    Diff logits, text, classes;
    int inputs = 0;
    for (const auto& a : alone_inputs(c.cases)) {
      if (skipped(c, a)) continue;
      SCOPED_TRACE(a.id);
      ++inputs;
      auto ids = torch::tensor(a.ids, torch::kLong).unsqueeze(0);
      gm::ModelOutput out;
      auto got = run(*c.model, ids, torch::ones_like(ids), a.num_labels, &out);
      ASSERT_EQ(got.sizes(), torch::IntArrayRef({1, a.num_labels}));
      compare_json(json(a.logits), got[0], 1e-4, logits);
      if (a.text_embedding.is_array() && !a.text_embedding.empty())
        compare_json(a.text_embedding, out.text_embeddings[0], 1e-4, text);
      if (a.class_embeddings.is_array() && !a.class_embeddings.empty())
        compare_json(a.class_embeddings, out.class_embeddings[0], 1e-4, classes);
    }
    // chunking_deberta stores only padded passes (checked by the batch test).
    if (!c.cases.contains("chunking")) EXPECT_GT(inputs, 0);
    EXPECT_EQ(logits.failures, 0) << "logits max |diff| " << logits.max_abs;
    EXPECT_EQ(text.failures, 0) << "text_embedding max |diff| " << text.max_abs;
    EXPECT_EQ(classes.failures, 0) << "class_embeddings max |diff| " << classes.max_abs;
    std::cout << "[parity] " << c.name << ": " << inputs << " inputs alone, max |diff| logits "
              << logits.max_abs << ", text_embedding " << text.max_abs << ", class_embeddings "
              << classes.max_abs << "\n";
  }
}

TEST(UniEncoderParity, PaddedBatchEqualsEachInputAlone) {
  GLICLASS_REQUIRE_GOLDEN();
  for (auto& c : load_cases()) {
    SCOPED_TRACE(c.name);
    auto inputs = alone_inputs(c.cases);
    Diff batch_vs_alone, batch_vs_reference;
    if (!inputs.empty()) {
      // Every input of the case in one padded batch, K = most labels.
      std::vector<std::vector<int64_t>> rows;
      int64_t k = 1;
      for (const auto& a : inputs) {
        rows.push_back(a.ids);
        k = std::max(k, a.num_labels);
      }
      auto [ids, mask] = pad_rows(rows);
      auto batch = run(*c.model, ids, mask, k);
      ASSERT_EQ(batch.sizes(), torch::IntArrayRef({ids.size(0), k}));
      for (size_t i = 0; i < inputs.size(); ++i) {
        SCOPED_TRACE(inputs[i].id);
        auto row = torch::tensor(inputs[i].ids, torch::kLong).unsqueeze(0);
        auto alone = run(*c.model, row, torch::ones_like(row), inputs[i].num_labels);
        auto got = batch[i].slice(0, 0, inputs[i].num_labels);
        auto a = alone[0].to(torch::kDouble);
        auto g = got.to(torch::kDouble);
        for (int64_t j = 0; j < a.size(0); ++j)
          batch_vs_alone.add(g[j].item<double>(), a[j].item<double>(), kBatchTolerance);
      }
    }
    // The reference's own padded batch: equal to the alone logits only for
    // first/pass pooling (other poolers pool padding there).
    const auto& ref = c.cases.at("batch");
    const bool comparable = c.config.pooling_strategy == "first" || c.config.pooling_strategy == "pass";
    if (comparable && ref.contains("input_ids") && !ref.at("input_ids").empty()) {
      auto [id_t, mask_t] = stored_batch(ref.at("input_ids"), ref.at("attention_mask"));
      const int64_t b = id_t.size(0);
      const int64_t k = ref.at("max_num_classes").get<int64_t>();
      auto got = run(*c.model, id_t, mask_t, k);
      const auto& labels = ref.at("labels");
      const bool shared = ref.value("same_labels", false);
      for (int64_t i = 0; i < b; ++i) {
        const auto n = static_cast<int64_t>(shared ? labels.size() : labels.at(i).size());
        auto want = ref.at("logits").at(i);
        for (int64_t j = 0; j < n; ++j)
          batch_vs_reference.add(got[i][j].item<double>(), want.at(j).get<double>(), 1e-4);
      }
    }
    // Chunking passes: padded batches of first-pooling inputs, K = the group's labels.
    if (c.cases.contains("chunking")) {
      for (const auto& call : c.cases.at("chunking").at("calls")) {
        for (const auto& pass : call.at("passes")) {
          auto [id_t, mask_t] = stored_batch(pass.at("input_ids"), pass.at("attention_mask"));
          const int64_t b = id_t.size(0);
          const auto k = static_cast<int64_t>(pass.at("labels").size());
          auto got = run(*c.model, id_t, mask_t, k);
          for (int64_t i = 0; i < b; ++i)
            for (int64_t j = 0; j < k; ++j)
              batch_vs_reference.add(got[i][j].item<double>(),
                                     pass.at("logits").at(i).at(j).get<double>(), 1e-4);
        }
      }
    }
    EXPECT_EQ(batch_vs_alone.failures, 0) << "batch vs alone max |diff| " << batch_vs_alone.max_abs;
    EXPECT_EQ(batch_vs_reference.failures, 0)
        << "batch vs reference batch max |diff| " << batch_vs_reference.max_abs;
    std::cout << "[parity] " << c.name << ": batch vs alone max |diff| " << batch_vs_alone.max_abs
              << " over " << batch_vs_alone.count << " logits"
              << (batch_vs_reference.count > 0
                      ? ", vs reference batch " + std::to_string(batch_vs_reference.max_abs) +
                            " over " + std::to_string(batch_vs_reference.count) + " logits"
                      : std::string())
              << "\n";
  }
}
