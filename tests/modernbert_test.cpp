// ModernBERT backbone: config parsing, module names, parity with the HF
// outputs stored in the golden cases, banded local attention, and batch
// invariance (padded rows, unpadded and padded paths).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "encoders/encoder.h"
#include "encoders/modernbert.h"
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

const char* const kPrefix = "model.encoder_model.";

std::vector<std::string> modernbert_cases() { return gt::golden_cases("", "modernbert"); }

struct LoadedCase {
  json config, cases;
  std::shared_ptr<ModernBertModelImpl> model;
};

LoadedCase load_case(const std::string& name, bool unpad = true) {
  LoadedCase c;
  auto dir = gt::golden_dir() / name;
  c.config = gt::read_json(dir / "config.json");
  c.cases = gt::read_json(dir / "cases.json");
  auto encoder_config = c.config.at("encoder_config");
  // The reference resizes the backbone's embeddings to the GLiClass vocab_size.
  if (c.config.value("vocab_size", 0) > 0) encoder_config["vocab_size"] = c.config.at("vocab_size");
  auto config = ModernBertConfig::from_json(encoder_config);
  config.unpad_padding = unpad;
  c.model = std::make_shared<ModernBertModelImpl>(config);
  io::LoadOptions options;
  options.prefix = kPrefix;
  io::load_weights(*c.model, *io::open_checkpoint(dir), options);
  c.model->eval();
  return c;
}

ModernBertConfig tiny_config(int64_t window = 8) {
  return ModernBertConfig::from_json(json{{"vocab_size", 60},
                                          {"hidden_size", 16},
                                          {"intermediate_size", 24},
                                          {"num_hidden_layers", 3},
                                          {"num_attention_heads", 2},
                                          {"global_attn_every_n_layers", 2},
                                          {"local_attention", window},
                                          {"local_rope_theta", 500.0},
                                          {"pad_token_id", 0}});
}

// Right-pads the rows into one batch: ids [B, longest] and mask.
std::pair<torch::Tensor, torch::Tensor> pad_rows(const std::vector<torch::Tensor>& rows, int64_t pad_id) {
  int64_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.size(0));
  auto ids = torch::full({static_cast<int64_t>(rows.size()), longest}, pad_id, torch::kLong);
  auto mask = torch::zeros_like(ids);
  for (size_t i = 0; i < rows.size(); ++i) {
    ids[i].narrow(0, 0, rows[i].size(0)).copy_(rows[i]);
    mask[i].narrow(0, 0, rows[i].size(0)).fill_(1);
  }
  return {ids, mask};
}

// Each row of a padded batch against the row alone, over every returned
// state; padded positions must be exactly zero. `relative` is the largest
// difference divided by the size of the state it is in (max |x|, at least 1):
// float32 GEMMs round a row differently depending on how many rows they get,
// and the pre-norm residual stream grows to |x| ~ 50 on the golden weights.
struct Invariance {
  double absolute = 0, relative = 0, last_absolute = 0;
};

Invariance batch_invariance(ModernBertModelImpl& model, const std::vector<torch::Tensor>& rows, int64_t pad_id) {
  auto [ids, mask] = pad_rows(rows, pad_id);
  auto together = model.forward(EncoderInput{ids, mask, {}, {}, true});
  together.hidden_states.push_back(together.last_hidden_state);
  Invariance worst;
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t n = rows[i].size(0);
    auto alone = model.forward(EncoderInput{rows[i].unsqueeze(0), torch::ones({1, n}, torch::kLong), {}, {}, true});
    alone.hidden_states.push_back(alone.last_hidden_state);
    for (size_t k = 0; k < alone.hidden_states.size(); ++k) {
      const auto& row = together.hidden_states[k][i];
      const auto& ref = alone.hidden_states[k][0];
      const double diff = max_abs_diff(row.narrow(0, 0, n), ref);
      worst.absolute = std::max(worst.absolute, diff);
      worst.relative = std::max(worst.relative, diff / std::max(1.0, ref.abs().max().item<double>()));
      if (k + 1 == alone.hidden_states.size()) worst.last_absolute = std::max(worst.last_absolute, diff);
      if (n < ids.size(1)) EXPECT_EQ(row.narrow(0, n, ids.size(1) - n).abs().max().item<double>(), 0.0);
    }
  }
  return worst;
}

std::ostream& operator<<(std::ostream& os, const Invariance& d) {
  return os << "max |diff| = " << d.absolute << " (relative to |state| " << d.relative
            << "; last_hidden_state " << d.last_absolute << ")";
}

void expect_model_error(const json& j, const std::string& fragment) {
  try {
    ModernBertConfig::from_json(j);
    ADD_FAILURE() << "no error for " << j.dump();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------- config

TEST(ModernBertConfig, HuggingFaceDefaultsAndLayerPattern) {
  auto c = ModernBertConfig::from_json(json::object());
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.intermediate_size, 1152);
  EXPECT_EQ(c.num_hidden_layers, 22);
  EXPECT_EQ(c.local_attention, 128);
  EXPECT_EQ(c.global_rope_theta, 160000.0);
  EXPECT_EQ(c.local_rope_theta, 10000.0);
  EXPECT_EQ(c.norm_eps, 1e-5);
  EXPECT_FALSE(c.norm_bias || c.attention_bias || c.mlp_bias);
  ASSERT_EQ(c.layer_types.size(), 22u);
  for (int64_t i = 0; i < 22; ++i) EXPECT_EQ(c.is_local_layer(i), i % 3 != 0) << i;

  // HF 4.49: a null local_rope_theta falls back to the global one.
  auto n = ModernBertConfig::from_json(json{{"global_rope_theta", 1234.0}, {"local_rope_theta", nullptr}});
  EXPECT_EQ(n.local_rope_theta, 1234.0);
}

TEST(ModernBertConfig, NewerLayoutWithLayerTypesAndRopeParameters) {
  auto c = ModernBertConfig::from_json(
      json{{"num_hidden_layers", 3},
           {"layer_types", {"full_attention", "full_attention", "sliding_attention"}},
           {"rope_parameters",
            {{"full_attention", {{"rope_type", "default"}, {"rope_theta", 99.0}}},
             {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 7.0}}}}}});
  EXPECT_FALSE(c.is_local_layer(0));
  EXPECT_FALSE(c.is_local_layer(1));
  EXPECT_TRUE(c.is_local_layer(2));
  EXPECT_EQ(c.global_rope_theta, 99.0);
  EXPECT_EQ(c.local_rope_theta, 7.0);
}

TEST(ModernBertConfig, InvalidValuesAreModelErrors) {
  expect_model_error(json{{"hidden_size", 30}, {"num_attention_heads", 4}}, "not a multiple of num_attention_heads");
  expect_model_error(json{{"hidden_size", 36}, {"num_attention_heads", 4}}, "even head size");
  expect_model_error(json{{"hidden_activation", "gelu_magic"}}, "unknown activation 'gelu_magic'");
  expect_model_error(json{{"norm_bias", "no"}}, "'norm_bias' must be true or false");
  expect_model_error(json{{"global_attn_every_n_layers", 0}}, "'global_attn_every_n_layers' must be positive");
  expect_model_error(json{{"num_hidden_layers", 2}, {"layer_types", {"full_attention"}}}, "one entry per layer");
  expect_model_error(json{{"num_hidden_layers", 1}, {"layer_types", {"chunked"}}}, "unknown layer type 'chunked'");
  expect_model_error(json{{"rope_scaling", {{"rope_type", "yarn"}, {"factor", 2.0}}}}, "unsupported rope_type");
  expect_model_error(json{{"mlp_dropout", 1.5}}, "'mlp_dropout' must be in [0, 1)");
  expect_model_error(json::array(), "expected a JSON object");
}

TEST(ModernBertRegistry, ModelTypeBuildsModernBert) {
  auto encoder = make_encoder(json{{"model_type", "modernbert"}, {"hidden_size", 16}, {"num_attention_heads", 2},
                                   {"num_hidden_layers", 1}, {"intermediate_size", 8}, {"vocab_size", 10}});
  EXPECT_NE(std::dynamic_pointer_cast<ModernBertModelImpl>(encoder), nullptr);
  try {
    make_encoder(json{{"model_type", "modernbert-xl"}});
    ADD_FAILURE() << "no error";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("'modernbert-xl'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("deberta-v2, modernbert, bert, roberta, xlm-roberta"), std::string::npos);
  }
}

// ---------------------------------------------------------- module names

TEST(ModernBertModel, ParameterNamesFollowHuggingFace) {
  auto config = tiny_config();
  config.attention_bias = config.mlp_bias = config.norm_bias = true;
  ModernBertModelImpl with_bias(config);
  std::set<std::string> names;
  for (const auto& p : with_bias.named_parameters()) names.insert(p.key());
  for (const char* expected :
       {"embeddings.tok_embeddings.weight", "embeddings.norm.weight", "embeddings.norm.bias",
        "layers.0.attn.Wqkv.weight", "layers.0.attn.Wqkv.bias", "layers.0.attn.Wo.bias", "layers.0.mlp.Wi.weight",
        "layers.0.mlp.Wi.bias", "layers.0.mlp.Wo.weight", "layers.0.mlp_norm.bias", "layers.1.attn_norm.weight",
        "layers.2.attn_norm.bias", "final_norm.weight", "final_norm.bias"})
    EXPECT_TRUE(names.count(expected)) << expected;
  EXPECT_FALSE(names.count("layers.0.attn_norm.weight"));  // HF: Identity in layer 0
  EXPECT_EQ(with_bias.layers->size(), 3u);
  EXPECT_TRUE(with_bias.named_buffers().is_empty());

  ModernBertModelImpl no_bias(tiny_config());
  for (const auto& p : no_bias.named_parameters())
    EXPECT_EQ(p.key().find(".bias"), std::string::npos) << p.key();
  EXPECT_EQ(no_bias.layers[0]->as<ModernBertEncoderLayerImpl>()->mlp->Wi->weight.size(0), 48);  // 2 * intermediate
}

TEST(ModernBertModel, NamesEqualEveryGoldenCheckpoint) {
  GLICLASS_REQUIRE_GOLDEN();
  for (const auto& name : modernbert_cases()) {
    auto config = gt::read_json(gt::golden_dir() / name / "config.json");
    auto encoder_config = config.at("encoder_config");
    encoder_config["vocab_size"] = config.at("vocab_size");
    auto model = make_encoder(encoder_config);
    auto file = io::open_checkpoint(gt::golden_dir() / name);
    std::set<std::string> in_file, in_module;
    for (const auto& n : file->names())
      if (n.rfind(kPrefix, 0) == 0) in_file.insert(n.substr(std::string(kPrefix).size()));
    for (const auto& p : model->named_parameters()) {
      in_module.insert(p.key());
      EXPECT_TRUE(in_file.count(p.key())) << name << ": " << p.key();
      if (in_file.count(p.key())) EXPECT_EQ(file->shape(kPrefix + p.key()), p.value().sizes().vec()) << name;
    }
    EXPECT_EQ(in_file, in_module) << name;
  }
}

// ---------------------------------------------------------------- parity

TEST(ModernBertGolden, LastHiddenStateMatchesReference) {
  GLICLASS_REQUIRE_GOLDEN();
  torch::NoGradGuard no_grad;
  int checked = 0;
  for (const auto& name : modernbert_cases()) {
    auto c = load_case(name);
    double worst = 0;
    std::string lengths;
    for (const auto& input : c.cases.at("inputs")) {
      if (!input.contains("intermediates")) continue;
      auto expected = json_tensor(input.at("intermediates").at("encoder_model").at(0).at("last_hidden_state"));
      auto ids = ids_tensor(input.at("input_ids"));
      auto out = c.model->forward(EncoderInput{ids, torch::ones_like(ids), {}, {}, false});
      ASSERT_EQ(out.last_hidden_state.sizes(), expected.sizes()) << name;
      worst = std::max(worst, max_abs_diff(out.last_hidden_state, expected));
      lengths += " " + std::to_string(ids.size(1)), ++checked;
    }
    std::cout << "[ modernbert ] " << name << ": last_hidden_state max |diff| = " << worst << " (L =" << lengths
              << ", local window " << c.model->config().local_attention << ")\n";
    EXPECT_LE(worst, 1e-4) << name;
  }
  EXPECT_GT(checked, 0) << "no modernbert golden input with intermediates";
}

// Only inputs[0] stores the encoder's states; the logits of every input
// (up to 512 tokens) go through the encoder too. Each input alone, as the
// goldens were made.
TEST(ModernBertGolden, UniEncoderLogitsOfEveryInputMatch) {
  GLICLASS_REQUIRE_GOLDEN();
  torch::NoGradGuard no_grad;
  int checked = 0;
  for (const auto& name : gt::golden_cases("uni-encoder", "modernbert")) {
    auto dir = gt::golden_dir() / name;
    auto model = model::load_model(dir, io::GLiClassConfig::from_file(dir / "config.json"));
    const auto cases = gt::read_json(dir / "cases.json");  // outlives the loop
    double worst = 0, longest = 0;
    for (const auto& input : cases.at("inputs")) {
      auto ids = ids_tensor(input.at("input_ids"));
      auto expected = torch::tensor(input.at("logits").get<std::vector<float>>());
      auto out = model->forward(model::ModelInput{ids, torch::ones_like(ids), {}, expected.size(0)});
      worst = std::max(worst, max_abs_diff(out.logits[0].narrow(0, 0, expected.size(0)), expected));
      longest = std::max(longest, static_cast<double>(ids.size(1)));
      ++checked;
    }
    std::cout << "[ modernbert ] " << name << ": logits max |diff| = " << worst << " (longest L=" << longest << ")\n";
    EXPECT_LE(worst, 1e-4) << name;
  }
  EXPECT_GT(checked, 0);
}

// ------------------------------------------------------------- attention

TEST(ModernBertAttention, RotaryTablesFollowTheRoPEFormula) {
  auto rope = rotary_tables(10000.0, 8, 5, torch::kCPU);
  ASSERT_EQ(rope.cos.sizes(), (std::vector<int64_t>{5, 8}));
  for (int64_t p = 0; p < 5; ++p)
    for (int64_t i = 0; i < 4; ++i) {
      const double angle = p * std::pow(10000.0, -2.0 * i / 8.0);
      EXPECT_NEAR(rope.cos[p][i].item<double>(), std::cos(angle), 1e-6);
      EXPECT_NEAR(rope.sin[p][i + 4].item<double>(), std::sin(angle), 1e-6);
    }
  // rotate_half: (x1, x2) -> x * cos + (-x2, x1) * sin
  auto x = torch::arange(8, torch::kFloat).view({1, 1, 1, 8});
  auto one = rotary_tables(10000.0, 8, 2, torch::kCPU);
  RotaryTables at1{one.cos.narrow(0, 1, 1), one.sin.narrow(0, 1, 1)};
  auto y = apply_rotary(x, at1);
  const double c0 = std::cos(1.0), s0 = std::sin(1.0);
  EXPECT_NEAR(y[0][0][0][0].item<double>(), 0 * c0 - 4 * s0, 1e-5);
  EXPECT_NEAR(y[0][0][0][4].item<double>(), 4 * c0 + 0 * s0, 1e-5);
}

// The banded form against the dense one (and the dense one against a
// per-entry reference) over windows, lengths off the block size and padding.
TEST(ModernBertAttention, BandedEqualsDenseSlidingWindow) {
  torch::manual_seed(11);
  torch::NoGradGuard no_grad;
  for (int64_t window : {0, 1, 8, 20}) {
    for (int64_t length : {1, 7, 33, 70}) {
      auto q = torch::randn({2, 3, length, 4}), k = torch::randn({2, 3, length, 4}), v = torch::randn({2, 3, length, 4});
      auto valid = torch::ones({2, length}, torch::kBool);
      valid[1].narrow(0, length / 2 + 1, length - length / 2 - 1).fill_(false);
      auto dense = dense_attention(q, k, v, valid, window, 0.0);
      auto banded = banded_attention(q, k, v, valid, window, 0.0);
      ASSERT_EQ(banded.sizes(), dense.sizes());
      // Rows with a real query: identical up to rounding.
      const int64_t real1 = length / 2 + 1;
      EXPECT_LE(max_abs_diff(banded[0], dense[0]), 1e-5) << window << " " << length;
      EXPECT_LE(max_abs_diff(banded[1].narrow(1, 0, real1), dense[1].narrow(1, 0, real1)), 1e-5) << window;
      // Reference for the last query: softmax over keys with |i-j| <= window.
      const int64_t i = length - 1;
      auto keep = torch::zeros({length}, torch::kBool);
      for (int64_t j = 0; j < length; ++j) keep[j] = std::abs(i - j) <= window;
      auto scores = (k[0][1].matmul(q[0][1][i]) / 2.0).masked_fill(keep.logical_not(), -1e30);
      auto expected = torch::softmax(scores, 0).matmul(v[0][1]);
      EXPECT_LE(max_abs_diff(dense[0][1][i], expected), 1e-5) << window << " " << length;
    }
  }
}

// attention_rows (the fused inference path) against RoPE + the dense masked
// attention of each row alone, with rows packed and padded, global and local
// windows (banded blocks on the long row), and bf16 products.
TEST(ModernBertAttention, RowsEqualRotaryThenMaskedAttentionOfEachRow) {
  torch::manual_seed(13);
  torch::NoGradGuard no_grad;
  const int64_t heads = 3, d = 8, width = heads * d, length = 70;
  const std::vector<int64_t> lengths{70, 33, 0, 1};
  ModernBertBatch batch;
  batch.batch = static_cast<int64_t>(lengths.size());
  batch.length = length;
  batch.lengths = lengths;
  batch.global_rope = rotary_tables(160000.0, d, length, torch::kCPU);
  batch.local_rope = rotary_tables(10000.0, d, length, torch::kCPU);
  for (bool packed : {true, false}) {
    int64_t total = 0;
    for (int64_t n : lengths) total += packed ? n : length;
    auto qkv = torch::randn({total, 3 * width});
    batch.indices = packed ? torch::arange(total) : torch::Tensor();  // only whether it is defined counts
    for (int64_t window : {-1, 8, 20}) {
      ASSERT_EQ(band_block(length, 8), 16);  // the 70-token row goes in blocks at window 8
      for (bool bf16 : {false, true}) {
        auto out = attention_rows(qkv, batch, {heads, d, window}, bf16);
        ASSERT_EQ(out.sizes(), (std::vector<int64_t>{total, width}));
        int64_t start = 0;
        for (size_t b = 0; b < lengths.size(); ++b) {
          const int64_t n = lengths[b];
          if (n > 0) {
            const auto& rope = window < 0 ? batch.global_rope : batch.local_rope;
            RotaryTables at{rope.cos.narrow(0, 0, n), rope.sin.narrow(0, 0, n)};
            auto parts = qkv.narrow(0, start, n).view({1, n, 3, heads, d}).permute({2, 0, 3, 1, 4});
            auto expected = dense_attention(apply_rotary(parts[0], at), apply_rotary(parts[1], at), parts[2], {},
                                            window, 0.0)[0].transpose(0, 1).reshape({n, width});
            // bf16 operands: ~3 significant digits on products of unit-sized values.
            EXPECT_LE(max_abs_diff(out.narrow(0, start, n), expected), bf16 ? 3e-2 : 1e-5)
                << "packed " << packed << " window " << window << " bf16 " << bf16 << " row " << b;
          }
          const int64_t rows = packed ? n : length;
          if (rows > n) EXPECT_EQ(out.narrow(0, start + n, rows - n).abs().max().item<double>(), 0.0);
          start += rows;
        }
      }
    }
  }
}

// ------------------------------------------------------- batch invariance

TEST(ModernBertBatch, PaddedRowsMatchAloneOnGoldenCases) {
  GLICLASS_REQUIRE_GOLDEN();
  torch::NoGradGuard no_grad;
  for (const auto& name : modernbert_cases()) {
    for (bool unpad : {true, false}) {
      auto c = load_case(name, unpad);
      // Mixed lengths: the shortest ones (below the window) and some far beyond it.
      std::vector<torch::Tensor> rows;
      for (const auto& input : c.cases.at("inputs")) rows.push_back(ids_tensor(input.at("input_ids"))[0]);
      std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.size(0) < b.size(0); });
      std::vector<torch::Tensor> picked{rows[0], rows[1], rows[rows.size() / 2], rows[rows.size() - 2]};
      const int64_t window = c.model->config().local_attention;
      ASSERT_LT(picked.front().size(0), window) << name;
      ASSERT_GT(picked.back().size(0), 4 * window) << name;
      const int64_t pad = c.config.at("encoder_config").value("pad_token_id", 0);
      const char* path = unpad ? " (unpadded path" : " (padded path";
      // float32: equal to rounding.
      auto single = batch_invariance(*c.model, picked, pad);
      std::cout << "[ modernbert ] " << name << path << ", float32, lengths " << picked[0].size(0) << ".."
                << picked.back().size(0) << "): batch vs alone " << single << "\n";
      EXPECT_LE(single.relative, 1e-5) << name;
      EXPECT_LE(single.last_absolute, 1e-4) << name;
      // float64: without float32 rounding any leak from padding or the other
      // rows would stand out.
      c.model->to(torch::kDouble);
      auto twice = batch_invariance(*c.model, picked, pad);
      std::cout << "[ modernbert ] " << name << path << ", float64): batch vs alone " << twice << "\n";
      EXPECT_LE(twice.absolute, 1e-10) << name;
    }
  }
}

// Random weights with every bias and both rope thetas: the unpadded and the
// padded path give the same numbers, and both match each row alone.
TEST(ModernBertBatch, UnpaddedAndPaddedPathsAgree) {
  torch::manual_seed(7);
  torch::NoGradGuard no_grad;
  auto config = tiny_config(6);
  config.attention_bias = config.mlp_bias = config.norm_bias = true;
  config.hidden_activation = "gelu_new";
  ModernBertModelImpl unpadded(config);
  config.unpad_padding = false;
  ModernBertModelImpl padded(config);
  {
    auto from = unpadded.named_parameters();
    auto to = padded.named_parameters();
    for (const auto& p : from) to[p.key()].copy_(p.value());
  }
  unpadded.eval();
  padded.eval();
  std::vector<torch::Tensor> rows;
  for (int64_t n : {45, 2, 13, 45, 1, 30}) rows.push_back(torch::randint(1, config.vocab_size, {n}, torch::kLong));
  EXPECT_LE(batch_invariance(unpadded, rows, 0).absolute, 1e-5);
  EXPECT_LE(batch_invariance(padded, rows, 0).absolute, 1e-5);
  auto [ids, mask] = pad_rows(rows, 0);
  auto a = unpadded.forward(EncoderInput{ids, mask, {}, {}, true});
  auto b = padded.forward(EncoderInput{ids, mask, {}, {}, true});
  EXPECT_LE(max_abs_diff(a.last_hidden_state, b.last_hidden_state), 1e-5);
  ASSERT_EQ(a.hidden_states.size(), b.hidden_states.size());
  for (size_t k = 0; k < a.hidden_states.size(); ++k)
    EXPECT_LE(max_abs_diff(a.hidden_states[k], b.hidden_states[k]), 1e-5) << k;
}

// The last layer at the read positions alone: those rows as the whole layer
// gives them, every other position zero. The last layer global (3 layers)
// and local (2: window 6 against rows of up to 45 tokens); packed, padded
// and unpadded batches; products in float32 and bfloat16.
TEST(ModernBertBatch, ReadPositionsComputeTheRowsTheyName) {
  torch::manual_seed(12);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> rows;
  for (int64_t n : {45, 2, 13, 1, 30}) rows.push_back(torch::randint(1, 60, {n}, torch::kLong));
  auto [ids, mask] = pad_rows(rows, 0);
  auto read = torch::rand(ids.sizes()) < 0.3;
  read.select(1, 0).fill_(true);
  read[3].fill_(false);
  const auto full_rows = ids.narrow(0, 0, 1);  // one row, no padding: the [B,L,D] layout
  for (int64_t layers : {3, 2})
    for (bool unpad : {true, false})
      for (DType dtype : {DType::kFloat32, DType::kBFloat16}) {
        auto config = tiny_config(6);
        config.num_hidden_layers = layers;
        config.layer_types.clear();
        config.unpad_padding = unpad;
        auto model = std::make_shared<ModernBertModelImpl>(config);
        model->eval();
        runtime::set_dtype(*model, dtype);
        const std::string what = std::to_string(layers) + " layers" + (unpad ? " unpadded" : " padded") +
                                 (dtype == DType::kFloat32 ? " fp32" : " bf16");
        for (const auto& [x, m] : {std::pair{ids, mask}, std::pair{full_rows, torch::ones_like(full_rows)}}) {
          auto full = model->forward(EncoderInput{x, m}).last_hidden_state;
          EncoderInput in{x, m};
          in.read_positions = read.narrow(0, 0, x.size(0));
          auto part = model->forward(in).last_hidden_state;
          const auto kept = (in.read_positions & m.to(torch::kBool)).unsqueeze(2);
          EXPECT_LE(max_abs_diff(part.masked_select(kept), full.masked_select(kept)), 1e-5) << what;
          EXPECT_EQ(part.masked_select(kept.logical_not()).abs().max().item<float>(), 0.f) << what;
        }
      }
}

// --------------------------------------------------------- forward paths

TEST(ModernBertModel, HiddenStatesAndInputsEmbeds) {
  torch::manual_seed(3);
  torch::NoGradGuard no_grad;
  ModernBertModelImpl model(tiny_config());
  model.eval();
  auto ids = torch::randint(1, 60, {2, 21}, torch::kLong);
  auto mask = torch::ones_like(ids);
  mask[1].narrow(0, 9, 12).zero_();
  auto by_ids = model.forward(EncoderInput{ids, mask, {}, {}, true});
  // HF: embeddings + one per layer; the last is before final_norm.
  ASSERT_EQ(by_ids.hidden_states.size(), 4u);
  auto normed = model.final_norm(by_ids.hidden_states.back()).masked_fill(mask.eq(0).unsqueeze(2), 0.0);
  EXPECT_LE(max_abs_diff(normed, by_ids.last_hidden_state), 1e-6);
  auto by_embeds = model.forward(EncoderInput{{}, mask, {}, model.embed_tokens(ids), true});
  EXPECT_LE(max_abs_diff(by_ids.last_hidden_state, by_embeds.last_hidden_state), 0.0);
  // No mask = all real.
  auto unmasked = model.forward(EncoderInput{ids.narrow(0, 0, 1), {}, {}, {}, false});
  auto masked = model.forward(EncoderInput{ids.narrow(0, 0, 1), mask.narrow(0, 0, 1), {}, {}, false});
  EXPECT_TRUE(torch::equal(unmasked.last_hidden_state, masked.last_hidden_state));
}

TEST(ModernBertModel, BadInputsAreInputErrors) {
  ModernBertModelImpl model(tiny_config());
  model.eval();
  auto ids = torch::randint(1, 60, {1, 5}, torch::kLong);
  auto expect_input_error = [&](const EncoderInput& in, const std::string& fragment) {
    try {
      model.forward(in);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_input_error(EncoderInput{torch::tensor({{1, 60}}, torch::kLong), {}, {}, {}, false}, "out of range");
  expect_input_error(EncoderInput{ids, torch::tensor({{0, 1, 1, 1, 1}}, torch::kLong), {}, {}, false}, "right-padded");
  expect_input_error(EncoderInput{ids, torch::ones({1, 4}, torch::kLong), {}, {}, false}, "attention_mask must be");
  expect_input_error(EncoderInput{{}, {}, {}, {}, false}, "exactly one of");
  expect_input_error(EncoderInput{torch::zeros({1, 0}, torch::kLong), {}, {}, {}, false}, "empty sequence");
}

// The library runs forward from several threads on one model.
TEST(ModernBertModel, ConcurrentForwardsAgree) {
  torch::manual_seed(5);
  ModernBertModelImpl model(tiny_config());
  model.eval();
  std::vector<torch::Tensor> inputs, results(4);
  for (int64_t n : {50, 9, 33, 50}) inputs.push_back(torch::randint(1, 60, {1, n}, torch::kLong));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < inputs.size(); ++t)
    threads.emplace_back([&, t] {
      torch::NoGradGuard no_grad;
      for (int r = 0; r < 3; ++r) results[t] = model.forward(EncoderInput{inputs[t], {}, {}, {}, false}).last_hidden_state;
    });
  for (auto& th : threads) th.join();
  torch::NoGradGuard no_grad;
  for (size_t t = 0; t < inputs.size(); ++t)
    EXPECT_TRUE(torch::equal(results[t], model.forward(EncoderInput{inputs[t], {}, {}, {}, false}).last_hidden_state));
}

// Dropout only in training mode; there, every parameter gets a gradient.
TEST(ModernBertModel, TrainModeAppliesDropoutAndBackpropagates) {
  torch::manual_seed(9);
  auto config = tiny_config();
  config.embedding_dropout = config.mlp_dropout = config.attention_dropout = 0.2;
  ModernBertModelImpl model(config);
  auto ids = torch::randint(1, 60, {2, 40}, torch::kLong);
  model.eval();
  {
    torch::NoGradGuard no_grad;
    auto a = model.forward(EncoderInput{ids, {}, {}, {}, false}).last_hidden_state;
    auto b = model.forward(EncoderInput{ids, {}, {}, {}, false}).last_hidden_state;
    EXPECT_TRUE(torch::equal(a, b));
  }
  model.train();
  auto a = model.forward(EncoderInput{ids, {}, {}, {}, false}).last_hidden_state;
  auto b = model.forward(EncoderInput{ids, {}, {}, {}, false}).last_hidden_state;
  EXPECT_FALSE(torch::allclose(a, b));
  a.sum().backward();
  for (const auto& p : model.named_parameters()) EXPECT_TRUE(p.value().grad().defined()) << p.key();
}

}  // namespace
}  // namespace gliclass::encoders
