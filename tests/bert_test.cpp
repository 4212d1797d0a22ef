// BERT / RoBERTa backbone: config parsing, module names, parity with the HF
// outputs stored in the golden cases (text encoders and bi-encoder label
// encoders), RoBERTa positions, relative positions, batch invariance.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "encoders/bert.h"
#include "encoders/encoder.h"
#include "gliclass/error.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "model/model.h"
#include "golden_tensors.h"
#include "test_util.h"

namespace gliclass::encoders {
namespace {

using nlohmann::json;
namespace gt = gliclass::testing;
using gt::ids_tensor;
using gt::json_tensor;
using gt::max_abs_diff;

bool is_bert_type(const json& config) {
  if (!config.is_object()) return false;
  auto type = config.value("model_type", "");
  return type == "bert" || type == "roberta" || type == "xlm-roberta";
}

// One BERT-family encoder of a golden case: the text encoder
// ("encoder_model") or the bi-encoder's label encoder ("label_encoder").
struct GoldenEncoder {
  std::string case_name, role;  // role: encoder_model or label_encoder
  json config, cases;
  std::shared_ptr<BertModelImpl> model;
};

std::vector<GoldenEncoder> golden_encoders() {
  std::vector<GoldenEncoder> out;
  for (const auto& name : gt::golden_cases("", "")) {
    auto dir = gt::golden_dir() / name;
    auto config = gt::read_json(dir / "config.json");
    for (const char* role : {"encoder_model", "label_encoder"}) {
      json encoder_config = std::string(role) == "encoder_model" ? config.value("encoder_config", json())
                                                                 : config.value("label_model_config", json());
      if (!is_bert_type(encoder_config)) continue;
      // The reference resizes the text encoder's embeddings to config.vocab_size.
      if (std::string(role) == "encoder_model" && config.value("vocab_size", 0) > 0)
        encoder_config["vocab_size"] = config.at("vocab_size");
      GoldenEncoder g{name, role, config, gt::read_json(dir / "cases.json"), nullptr};
      g.model = std::make_shared<BertModelImpl>(BertConfig::from_json(encoder_config));
      io::LoadOptions options;
      options.prefix = std::string("model.") + role + ".";
      io::load_weights(*g.model, *io::open_checkpoint(dir), options);
      g.model->eval();
      out.push_back(std::move(g));
    }
  }
  return out;
}

// The encoder's inputs of one golden input: ids and mask ([1,L] for the
// text, the padded [C,L] label batch for the label encoder).
std::pair<torch::Tensor, torch::Tensor> golden_ids(const GoldenEncoder& g, const json& input) {
  if (g.role == "encoder_model") {
    auto ids = ids_tensor(input.at("input_ids"));
    return {ids, torch::ones_like(ids)};
  }
  return {ids_tensor(input.at("class_input_ids")), ids_tensor(input.at("class_attention_mask"))};
}

BertConfig tiny_config(const std::string& type = "bert") {
  return BertConfig::from_json(json{{"model_type", type},
                                    {"vocab_size", 50},
                                    {"hidden_size", 16},
                                    {"num_hidden_layers", 2},
                                    {"num_attention_heads", 2},
                                    {"intermediate_size", 24},
                                    {"max_position_embeddings", 64}});
}

// Right-pads rows into one batch; each row's real positions against the row
// alone, every returned state. float32 GEMMs round a row differently with a
// different number of rows, hence the relative measure as well.
struct Invariance {
  double absolute = 0, relative = 0;
};

Invariance batch_invariance(BertModelImpl& model, const std::vector<torch::Tensor>& rows, int64_t pad_id) {
  int64_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.size(0));
  auto ids = torch::full({static_cast<int64_t>(rows.size()), longest}, pad_id, torch::kLong);
  auto mask = torch::zeros_like(ids);
  for (size_t i = 0; i < rows.size(); ++i) {
    ids[i].narrow(0, 0, rows[i].size(0)).copy_(rows[i]);
    mask[i].narrow(0, 0, rows[i].size(0)).fill_(1);
  }
  auto together = model.forward(EncoderInput{ids, mask, {}, {}, true});
  Invariance worst;
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t n = rows[i].size(0);
    auto alone = model.forward(EncoderInput{rows[i].unsqueeze(0), torch::ones({1, n}, torch::kLong), {}, {}, true});
    for (size_t k = 0; k < alone.hidden_states.size(); ++k) {
      const auto& ref = alone.hidden_states[k][0];
      const double diff = max_abs_diff(together.hidden_states[k][i].narrow(0, 0, n), ref);
      worst.absolute = std::max(worst.absolute, diff);
      worst.relative = std::max(worst.relative, diff / std::max(1.0, ref.abs().max().item<double>()));
    }
  }
  return worst;
}

void expect_model_error(const json& j, const std::string& fragment) {
  try {
    BertConfig::from_json(j);
    ADD_FAILURE() << "no error for " << j.dump();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- config

TEST(BertConfig, DefaultsFollowTheModelType) {
  auto bert = BertConfig::from_json(json::object());
  EXPECT_EQ(bert.model_type, "bert");
  EXPECT_EQ(bert.vocab_size, 30522);
  EXPECT_EQ(bert.pad_token_id, 0);
  EXPECT_EQ(bert.layer_norm_eps, 1e-12);
  EXPECT_EQ(bert.type_vocab_size, 2);
  EXPECT_FALSE(bert.roberta_positions());
  EXPECT_TRUE(bert.absolute_positions());
  auto roberta = BertConfig::from_json(json{{"model_type", "roberta"}});
  EXPECT_EQ(roberta.vocab_size, 50265);
  EXPECT_EQ(roberta.pad_token_id, 1);
  EXPECT_TRUE(roberta.roberta_positions());
  auto xlmr = BertConfig::from_json(json{{"model_type", "xlm-roberta"}, {"pad_token_id", 1}});
  EXPECT_EQ(xlmr.vocab_size, 30522);
  EXPECT_TRUE(xlmr.roberta_positions());
}

TEST(BertConfig, InvalidValuesAreModelErrors) {
  expect_model_error(json{{"hidden_size", 30}, {"num_attention_heads", 4}}, "not a multiple of num_attention_heads");
  expect_model_error(json{{"position_embedding_type", "rotary"}}, "unknown position_embedding_type 'rotary'");
  expect_model_error(json{{"is_decoder", true}}, "'is_decoder' is not supported");
  expect_model_error(json{{"add_cross_attention", true}}, "'add_cross_attention' is not supported");
  expect_model_error(json{{"hidden_act", "gelu_magic"}}, "unknown activation 'gelu_magic'");
  expect_model_error(json{{"type_vocab_size", 0}}, "'type_vocab_size' must be positive");
  expect_model_error(json{{"model_type", "roberta"}, {"pad_token_id", nullptr}}, "pad_token_id must be in");
  expect_model_error(json{{"model_type", "electra"}}, "unsupported model_type 'electra'");
  expect_model_error(json{{"hidden_dropout_prob", "0.1"}}, "'hidden_dropout_prob' must be a number");
}

TEST(BertRegistry, ModelTypesBuildBert) {
  for (const char* type : {"bert", "roberta", "xlm-roberta"}) {
    auto encoder = make_encoder(json{{"model_type", type}, {"hidden_size", 16}, {"num_attention_heads", 2},
                                     {"num_hidden_layers", 1}, {"intermediate_size", 8}, {"vocab_size", 10}});
    auto bert = std::dynamic_pointer_cast<BertModelImpl>(encoder);
    ASSERT_NE(bert, nullptr) << type;
    EXPECT_EQ(bert->config().model_type, type);
  }
}

// ---------------------------------------------------------- module names

TEST(BertModel, ParameterNamesFollowHuggingFace) {
  auto config = tiny_config();
  config.position_embedding_type = "relative_key_query";
  BertModelImpl model(config);
  std::set<std::string> names;
  for (const auto& p : model.named_parameters()) names.insert(p.key());
  for (const char* expected :
       {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
        "encoder.layer.0.attention.self.query.weight", "encoder.layer.0.attention.self.key.bias",
        "encoder.layer.1.attention.self.value.weight", "encoder.layer.1.attention.self.distance_embedding.weight",
        "encoder.layer.0.attention.output.dense.weight", "encoder.layer.0.attention.output.LayerNorm.bias",
        "encoder.layer.0.intermediate.dense.weight", "encoder.layer.1.output.dense.bias",
        "encoder.layer.1.output.LayerNorm.weight", "pooler.dense.weight", "pooler.dense.bias"})
    EXPECT_TRUE(names.count(expected)) << expected;
  EXPECT_EQ(model.encoder->layer->size(), 2u);
  EXPECT_TRUE(model.named_buffers().is_empty());
}

TEST(BertModel, NamesEqualEveryGoldenCheckpoint) {
  GLICLASS_REQUIRE_GOLDEN();
  // golden_encoders() loads strictly: a missing, extra or mis-shaped tensor throws.
  auto encoders = golden_encoders();
  EXPECT_GE(encoders.size(), 1u);
  for (const auto& g : encoders) {
    auto file = io::open_checkpoint(gt::golden_dir() / g.case_name);
    const std::string prefix = "model." + g.role + ".";
    size_t in_file = 0;
    for (const auto& n : file->names()) in_file += n.rfind(prefix, 0) == 0;
    EXPECT_EQ(in_file, g.model->named_parameters().size()) << g.case_name << " " << g.role;
  }
}

// ---------------------------------------------------------------- parity

TEST(BertGolden, LastHiddenStateMatchesReference) {
  GLICLASS_REQUIRE_GOLDEN();
  torch::NoGradGuard no_grad;
  int checked = 0;
  for (const auto& g : golden_encoders()) {
    double worst = 0;
    std::string shape;
    for (const auto& input : g.cases.at("inputs")) {
      if (!input.contains("intermediates") || !input.at("intermediates").contains(g.role)) continue;
      auto expected = json_tensor(input.at("intermediates").at(g.role).at(0).at("last_hidden_state"));
      auto [ids, mask] = golden_ids(g, input);
      auto out = g.model->forward(EncoderInput{ids, mask, {}, {}, false});
      ASSERT_EQ(out.last_hidden_state.sizes(), expected.sizes()) << g.case_name << " " << g.role;
      // Every position, padded ones included (HF's values there too).
      worst = std::max(worst, max_abs_diff(out.last_hidden_state, expected));
      shape = c10::str(expected.sizes());
      ++checked;
    }
    std::cout << "[ bert ] " << g.case_name << " " << g.role << ": last_hidden_state max |diff| = " << worst
              << " (shape " << shape << ")\n";
    EXPECT_LE(worst, 1e-4) << g.case_name << " " << g.role;
  }
  EXPECT_GT(checked, 0) << "no BERT golden input with intermediates";
}

// Only inputs[0] stores the encoder's states; the logits of every input
// (up to 512 tokens) go through the encoder too. Each input alone, as the
// goldens were made.
TEST(BertGolden, UniEncoderLogitsOfEveryInputMatch) {
  GLICLASS_REQUIRE_GOLDEN();
  torch::NoGradGuard no_grad;
  int checked = 0;
  for (const auto& name : gt::golden_cases("uni-encoder", "bert")) {
    auto dir = gt::golden_dir() / name;
    auto model = model::load_model(dir, io::GLiClassConfig::from_file(dir / "config.json"));
    const auto cases = gt::read_json(dir / "cases.json");  // outlives the loop
    double worst = 0;
    int64_t longest = 0;
    for (const auto& input : cases.at("inputs")) {
      auto ids = ids_tensor(input.at("input_ids"));
      auto expected = torch::tensor(input.at("logits").get<std::vector<float>>());
      auto out = model->forward(model::ModelInput{ids, torch::ones_like(ids), {}, expected.size(0)});
      worst = std::max(worst, max_abs_diff(out.logits[0].narrow(0, 0, expected.size(0)), expected));
      longest = std::max(longest, ids.size(1));
      ++checked;
    }
    std::cout << "[ bert ] " << name << ": logits max |diff| = " << worst << " (longest L=" << longest << ")\n";
    EXPECT_LE(worst, 1e-4) << name;
  }
  EXPECT_GT(checked, 0);
}

// ------------------------------------------------------- batch invariance

TEST(BertBatch, PaddedRowsMatchAloneOnGoldenCases) {
  GLICLASS_REQUIRE_GOLDEN();
  torch::NoGradGuard no_grad;
  for (auto& g : golden_encoders()) {
    std::vector<torch::Tensor> rows;
    for (const auto& input : g.cases.at("inputs")) {
      auto [ids, mask] = golden_ids(g, input);
      for (int64_t r = 0; r < ids.size(0); ++r) rows.push_back(ids[r].narrow(0, 0, mask[r].sum().item<int64_t>()));
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.size(0) < b.size(0); });
    std::vector<torch::Tensor> picked{rows[0], rows[rows.size() / 3], rows[2 * rows.size() / 3], rows.back()};
    const int64_t pad = g.model->config().pad_token_id;
    auto single = batch_invariance(*g.model, picked, pad);
    g.model->to(torch::kDouble);
    auto twice = batch_invariance(*g.model, picked, pad);
    std::cout << "[ bert ] " << g.case_name << " " << g.role << " (lengths " << picked[0].size(0) << ".."
              << picked.back().size(0) << "): batch vs alone max |diff| float32 " << single.absolute
              << " (relative " << single.relative << "), float64 " << twice.absolute << "\n";
    EXPECT_LE(single.relative, 1e-5) << g.case_name;
    EXPECT_LE(twice.absolute, 1e-10) << g.case_name;
  }
}

// --------------------------------------------------------------- RoBERTa

TEST(BertRoberta, PositionIdsStartAfterThePaddingIndex) {
  auto config = tiny_config("roberta");  // pad_token_id 1
  auto ids = torch::tensor({{0, 5, 6, 2, 1, 1}, {0, 7, 2, 1, 1, 1}}, torch::kLong);
  auto pos = bert_position_ids(config, ids, 2, 6, torch::kCPU);
  EXPECT_TRUE(torch::equal(pos, torch::tensor({{2, 3, 4, 5, 1, 1}, {2, 3, 4, 1, 1, 1}}, torch::kLong)));
  // inputs_embeds: sequential from padding_idx + 1.
  auto seq = bert_position_ids(config, {}, 2, 3, torch::kCPU);
  EXPECT_TRUE(torch::equal(seq, torch::tensor({{2, 3, 4}, {2, 3, 4}}, torch::kLong)));
  // BERT: 0, 1, 2, ... whatever the ids.
  EXPECT_TRUE(torch::equal(bert_position_ids(tiny_config(), ids, 2, 3, torch::kCPU)[1], torch::arange(3)));
}

// RoBERTa = BERT whose position table is shifted by padding_idx + 1.
TEST(BertRoberta, EqualsBertWithShiftedPositionsAndIsBatchInvariant) {
  torch::manual_seed(4);
  torch::NoGradGuard no_grad;
  BertModelImpl bert(tiny_config("bert"));
  BertModelImpl roberta(tiny_config("roberta"));
  auto target = roberta.named_parameters();
  for (const auto& p : bert.named_parameters()) target[p.key()].copy_(p.value());
  const int64_t pad = roberta.config().pad_token_id;
  roberta.embeddings->position_embeddings->weight.narrow(0, pad + 1, 60).copy_(
      bert.embeddings->position_embeddings->weight.narrow(0, 0, 60));
  bert.eval();
  roberta.eval();
  auto ids = torch::randint(2, 50, {1, 20}, torch::kLong);
  auto a = bert.forward(EncoderInput{ids, {}, {}, {}, false}).last_hidden_state;
  auto b = roberta.forward(EncoderInput{ids, {}, {}, {}, false}).last_hidden_state;
  EXPECT_LE(max_abs_diff(a, b), 1e-6);
  auto by_embeds = roberta.forward(EncoderInput{{}, {}, {}, roberta.embed_tokens(ids), false}).last_hidden_state;
  EXPECT_LE(max_abs_diff(by_embeds, b), 1e-6);
  std::vector<torch::Tensor> rows;
  for (int64_t n : {20, 3, 11, 1}) rows.push_back(torch::randint(2, 50, {n}, torch::kLong));
  EXPECT_LE(batch_invariance(roberta, rows, pad).absolute, 1e-5);
  EXPECT_LE(batch_invariance(bert, rows, 0).absolute, 1e-5);
}

// ------------------------------------------------------ relative positions

// HF relative_key[_query]: scores_ij = (q_i.k_j + q_i.r(i-j) [+ k_j.r(i-j)]) / sqrt(d),
// r = distance_embedding(i - j + max_positions - 1); checked entry by entry.
TEST(BertAttention, RelativePositionScoresFollowHuggingFace) {
  torch::manual_seed(8);
  torch::NoGradGuard no_grad;
  for (const char* type : {"relative_key", "relative_key_query"}) {
    auto config = tiny_config();
    config.position_embedding_type = type;
    BertModelImpl model(config);
    model.eval();
    auto& attn = *model.encoder->layer[0]->as<BertLayerImpl>()->attention->self;
    const int64_t length = 7, heads = 2, d = 8;
    auto x = torch::randn({1, length, 16});
    auto got = attn.forward(x, {});
    auto q = attn.query(x)[0].view({length, heads, d}), k = attn.key(x)[0].view({length, heads, d});
    auto v = attn.value(x)[0].view({length, heads, d});
    auto expected = torch::zeros({length, heads * d});
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < length; ++i) {
        auto scores = torch::zeros({length});
        for (int64_t j = 0; j < length; ++j) {
          auto r = attn.distance_embedding->weight[i - j + config.max_position_embeddings - 1];
          double s = q[i][h].dot(k[j][h]).item<double>() + q[i][h].dot(r).item<double>();
          if (std::string(type) == "relative_key_query") s += k[j][h].dot(r).item<double>();
          scores[j] = s / std::sqrt(static_cast<double>(d));
        }
        expected[i].narrow(0, h * d, d).copy_(torch::softmax(scores, 0).matmul(v.select(1, h)));
      }
    EXPECT_LE(max_abs_diff(got[0], expected), 1e-5) << type;
    // Padding stays invisible with relative positions too.
    std::vector<torch::Tensor> rows;
    for (int64_t n : {9, 2, 5}) rows.push_back(torch::randint(1, 50, {n}, torch::kLong));
    EXPECT_LE(batch_invariance(model, rows, 0).absolute, 1e-5) << type;
  }
}

// --------------------------------------------------------- forward paths

TEST(BertModel, HiddenStatesTokenTypesAndPooler) {
  torch::manual_seed(3);
  torch::NoGradGuard no_grad;
  BertModelImpl model(tiny_config());
  model.eval();
  auto ids = torch::randint(1, 50, {2, 9}, torch::kLong);
  auto out = model.forward(EncoderInput{ids, {}, {}, {}, true});
  ASSERT_EQ(out.hidden_states.size(), 3u);  // embeddings + one per layer
  EXPECT_TRUE(torch::equal(out.hidden_states.back(), out.last_hidden_state));
  auto by_embeds = model.forward(EncoderInput{{}, {}, {}, model.embed_tokens(ids), false});
  EXPECT_LE(max_abs_diff(by_embeds.last_hidden_state, out.last_hidden_state), 0.0);
  // Default token types are zeros; other types change the output.
  auto zeros = model.forward(EncoderInput{ids, {}, torch::zeros_like(ids), {}, false});
  EXPECT_TRUE(torch::equal(zeros.last_hidden_state, out.last_hidden_state));
  auto ones = model.forward(EncoderInput{ids, {}, torch::ones_like(ids), {}, false});
  EXPECT_GT(max_abs_diff(ones.last_hidden_state, out.last_hidden_state), 1e-3);
  auto pooled = model.pooler(out.last_hidden_state);
  auto expected = torch::tanh(model.pooler->dense(out.last_hidden_state.select(1, 0)));
  EXPECT_TRUE(torch::equal(pooled, expected));
}

TEST(BertModel, BadInputsAreInputErrors) {
  BertModelImpl model(tiny_config());
  BertModelImpl roberta(tiny_config("roberta"));
  auto expect_input_error = [](BertModelImpl& m, const EncoderInput& in, const std::string& fragment) {
    try {
      m.forward(in);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  auto ids = torch::randint(2, 50, {1, 5}, torch::kLong);
  expect_input_error(model, EncoderInput{torch::ones({1, 65}, torch::kLong), {}, {}, {}, false}, "expected <= 64");
  expect_input_error(roberta, EncoderInput{torch::ones({1, 63}, torch::kLong) * 3, {}, {}, {}, false},
                     "expected <= 62");
  expect_input_error(model, EncoderInput{ids, {}, torch::full({1, 5}, 2, torch::kLong), {}, false},
                     "token_type_ids value out of range");
  expect_input_error(model, EncoderInput{torch::tensor({{1, 50}}, torch::kLong), {}, {}, {}, false},
                     "input_ids value out of range");
  expect_input_error(model, EncoderInput{ids, torch::ones({1, 4}, torch::kLong), {}, {}, false},
                     "attention_mask must be [1, 5]");
  expect_input_error(model, EncoderInput{ids, {}, {}, model.embed_tokens(ids), false}, "exactly one of");
}

// Dropout only in training mode; there, every parameter on the path gets a gradient.
TEST(BertModel, TrainModeAppliesDropoutAndBackpropagates) {
  torch::manual_seed(9);
  BertModelImpl model(tiny_config());
  auto ids = torch::randint(1, 50, {2, 12}, torch::kLong);
  model.eval();
  {
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal(model.forward(EncoderInput{ids, {}, {}, {}, false}).last_hidden_state,
                             model.forward(EncoderInput{ids, {}, {}, {}, false}).last_hidden_state));
  }
  model.train();
  auto a = model.forward(EncoderInput{ids, {}, {}, {}, false}).last_hidden_state;
  auto b = model.forward(EncoderInput{ids, {}, {}, {}, false}).last_hidden_state;
  EXPECT_FALSE(torch::allclose(a, b));
  model.pooler(a).sum().backward();
  for (const auto& p : model.named_parameters()) EXPECT_TRUE(p.value().grad().defined()) << p.key();
}

}  // namespace
}  // namespace gliclass::encoders
