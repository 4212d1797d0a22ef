// DeBERTa-v2 backbone: config parsing, module names, parity with the HF
// outputs stored in the golden cases, and batch invariance.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "encoders/deberta_v2.h"
#include "encoders/deberta_v2_rows.h"
#include "encoders/encoder.h"
#include "gliclass/error.h"
#include "io/checkpoint.h"
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

struct LoadedCase {
  json config;  // the GLiClass config.json
  json cases;   // cases.json
  std::shared_ptr<DebertaV2ModelImpl> model;
  std::unique_ptr<io::TensorFile> weights;
};

LoadedCase load_case(const std::string& name) {
  LoadedCase c;
  auto dir = gt::golden_dir() / name;
  c.config = gt::read_json(dir / "config.json");
  c.cases = gt::read_json(dir / "cases.json");
  auto encoder = make_encoder(c.config.at("encoder_config"));
  c.model = std::dynamic_pointer_cast<DebertaV2ModelImpl>(encoder);
  if (!c.model) throw std::runtime_error("test: " + name + " did not build a DebertaV2Model");
  c.weights = io::open_checkpoint(dir);
  io::LoadOptions options;
  options.prefix = kPrefix;
  options.ignore_unused = {"position_embeddings"};
  io::load_weights(*c.model, *c.weights, options);
  c.model->eval();
  return c;
}

// The reference's segment ids (GLiClassUniEncoder._create_segment_ids) for
// one row: 1 from the first <<SEP>> (argmax, so 0 if absent); with an
// example token, everything from argmin(ids == <<EXAMPLE>>) on is 2.
torch::Tensor segment_ids(const std::vector<int64_t>& ids, int64_t sep, int64_t example) {
  const int64_t n = static_cast<int64_t>(ids.size());
  int64_t text_start = 0, example_start = 0;
  bool has_example = false;
  for (int64_t i = n - 1; i >= 0; --i) {
    if (ids[i] == sep) text_start = i;
    if (ids[i] == example) has_example = true;
    if (ids[i] != example) example_start = i;
  }
  std::vector<int64_t> seg(n, 0);
  if (has_example) {
    for (int64_t i = text_start; i < example_start; ++i) seg[i] = 1;
    for (int64_t i = example_start; i < n; ++i) seg[i] = 2;
  } else {
    for (int64_t i = text_start; i < n; ++i) seg[i] = 1;
  }
  return torch::tensor(seg, torch::kLong).unsqueeze(0);
}

// The encoder input of one golden input: ids, or (use_segment_embeddings)
// the word embeddings plus the checkpoint's segment embeddings.
EncoderInput golden_input(const LoadedCase& c, const json& input, bool hidden_states) {
  EncoderInput in;
  auto ids = ids_tensor(input.at("input_ids"));
  in.attention_mask = torch::ones_like(ids);
  in.output_hidden_states = hidden_states;
  if (c.config.value("use_segment_embeddings", false)) {
    auto seg = segment_ids(input.at("input_ids").get<std::vector<int64_t>>(),
                           c.config.at("text_token_index").get<int64_t>(),
                           c.config.at("example_token_index").get<int64_t>());
    auto table = c.weights->get("model.segment_embeddings.weight");
    in.inputs_embeds = c.model->embed_tokens(ids) + table.index({seg});
  } else {
    in.input_ids = ids;
  }
  return in;
}

std::vector<std::string> deberta_cases() { return gt::golden_cases("uni-encoder", "deberta"); }

// Cases with per-input reference outputs ("same_model_as" cases have none:
// they reuse another case's model, which is checked under its own name).
bool has_inputs(const LoadedCase& c) {
  return c.cases.contains("inputs") && !c.cases.at("inputs").empty() &&
         c.cases.at("inputs").at(0).contains("intermediates");
}

DebertaV2Config tiny_config() {
  return DebertaV2Config::from_json(json{{"vocab_size", 50},
                                         {"hidden_size", 16},
                                         {"num_hidden_layers", 2},
                                         {"num_attention_heads", 2},
                                         {"intermediate_size", 24},
                                         {"relative_attention", true},
                                         {"position_biased_input", false},
                                         {"pos_att_type", "p2c|c2p"},
                                         {"share_att_key", true},
                                         {"norm_rel_ebd", "layer_norm"},
                                         {"position_buckets", 8},
                                         {"max_relative_positions", 32}});
}

// ---------------------------------------------------------------- config

TEST(DebertaV2Config, PosAttTypeAsStringOrList) {
  auto a = DebertaV2Config::from_json(json{{"pos_att_type", "P2C | c2p"}});
  EXPECT_EQ(a.pos_att_type, (std::vector<std::string>{"p2c", "c2p"}));
  EXPECT_TRUE(a.has_c2p());
  EXPECT_TRUE(a.has_p2c());
  auto b = DebertaV2Config::from_json(json{{"pos_att_type", json::array({"c2p"})}});
  EXPECT_EQ(b.pos_att_type, (std::vector<std::string>{"c2p"}));
  EXPECT_TRUE(b.has_c2p());
  EXPECT_FALSE(b.has_p2c());
  auto c = DebertaV2Config::from_json(json{{"pos_att_type", nullptr}});
  EXPECT_TRUE(c.pos_att_type.empty());
}

TEST(DebertaV2Config, DefaultsAndDerivedSizes) {
  auto c = DebertaV2Config::from_json(json{{"hidden_size", 32}, {"num_attention_heads", 4}, {"relative_attention", true}});
  EXPECT_EQ(c.head_size(), 8);
  EXPECT_EQ(c.word_embedding_size(), 32);
  EXPECT_EQ(c.resolved_max_relative_positions(), 512);  // -1 -> max_position_embeddings
  EXPECT_EQ(c.relative_span(), 512);
  EXPECT_EQ(c.hidden_act, "gelu");
  EXPECT_TRUE(c.position_biased_input);
  EXPECT_FALSE(c.layer_norm_rel_embeddings());
  auto b = DebertaV2Config::from_json(
      json{{"relative_attention", true}, {"position_buckets", 256}, {"embedding_size", 128}, {"norm_rel_ebd", "layer_norm"}});
  EXPECT_EQ(b.relative_span(), 256);
  EXPECT_EQ(b.word_embedding_size(), 128);
  EXPECT_TRUE(b.layer_norm_rel_embeddings());
}

void expect_model_error(const json& j, const std::string& fragment) {
  try {
    DebertaV2Config::from_json(j);
    ADD_FAILURE() << "no error for " << j.dump();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(DebertaV2Config, InvalidValuesAreModelErrors) {
  expect_model_error(json{{"hidden_size", 30}, {"num_attention_heads", 4}}, "not a multiple of num_attention_heads");
  expect_model_error(json{{"hidden_size", "big"}}, "'hidden_size' must be an integer");
  expect_model_error(json{{"pos_att_type", "c2p|p2p"}}, "unknown pos_att_type entry 'p2p'");
  expect_model_error(json{{"hidden_act", "gelu_magic"}}, "unknown activation 'gelu_magic'");
  expect_model_error(json{{"norm_rel_ebd", "batch_norm"}}, "unknown norm_rel_ebd entry");
  expect_model_error(json{{"relative_attention", "yes"}}, "must be true or false");
  expect_model_error(json{{"conv_kernel_size", 4}}, "must be odd");
  expect_model_error(json{{"num_attention_heads", 0}}, "must be positive");
  expect_model_error(json::array(), "expected a JSON object");
}

TEST(DebertaV2Registry, UnknownModelTypeListsKnownOnes) {
  try {
    make_encoder(json{{"model_type", "gpt-17"}});
    ADD_FAILURE() << "no error";
  } catch (const ModelError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("gpt-17"), std::string::npos) << msg;
    EXPECT_NE(msg.find("deberta-v2"), std::string::npos) << msg;
  }
  auto def = make_encoder(json{{"hidden_size", 16}, {"num_attention_heads", 2}, {"num_hidden_layers", 1},
                               {"intermediate_size", 8}, {"vocab_size", 10}});
  EXPECT_NE(std::dynamic_pointer_cast<DebertaV2ModelImpl>(def), nullptr);  // model_type defaults to deberta-v2
}

// ---------------------------------------------------------- module names

TEST(DebertaV2Model, ParameterNamesFollowHuggingFace) {
  auto config = tiny_config();
  config.share_att_key = false;
  config.conv_kernel_size = 3;
  config.embedding_size = 8;
  config.type_vocab_size = 2;
  config.position_biased_input = true;
  DebertaV2ModelImpl model(config);
  std::set<std::string> names;
  for (const auto& p : model.named_parameters()) names.insert(p.key());
  for (const char* expected :
       {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight", "embeddings.embed_proj.weight", "embeddings.LayerNorm.weight",
        "encoder.layer.0.attention.self.query_proj.weight", "encoder.layer.1.attention.self.pos_key_proj.bias",
        "encoder.layer.1.attention.self.pos_query_proj.weight", "encoder.layer.0.attention.output.dense.weight",
        "encoder.layer.0.attention.output.LayerNorm.bias", "encoder.layer.0.intermediate.dense.weight",
        "encoder.layer.0.output.LayerNorm.bias", "encoder.rel_embeddings.weight", "encoder.LayerNorm.weight",
        "encoder.conv.conv.weight", "encoder.conv.LayerNorm.bias"})
    EXPECT_TRUE(names.count(expected)) << expected;
  EXPECT_EQ(model.encoder->rel_embeddings->weight.size(0), 16);  // 2 * position_buckets
  EXPECT_EQ(names.size(), model.parameters().size());
  EXPECT_TRUE(model.named_buffers().is_empty());
}

TEST(DebertaV2Model, NamesEqualEveryGoldenCheckpoint) {
  GLICLASS_REQUIRE_GOLDEN();
  for (const auto& name : deberta_cases()) {
    auto config = gt::read_json(gt::golden_dir() / name / "config.json");
    auto model = make_encoder(config.at("encoder_config"));
    auto file = io::open_checkpoint(gt::golden_dir() / name);
    std::set<std::string> in_file, in_module;
    for (const auto& n : file->names())
      if (n.rfind(kPrefix, 0) == 0) in_file.insert(n.substr(std::string(kPrefix).size()));
    for (const auto& p : model->named_parameters()) {
      in_module.insert(p.key());
      ASSERT_TRUE(in_file.count(p.key())) << name << ": " << p.key();
      EXPECT_EQ(file->shape(kPrefix + p.key()), p.value().sizes().vec()) << name << ": " << p.key();
    }
    EXPECT_EQ(in_file, in_module) << name;
  }
}

// ---------------------------------------------------------------- parity

TEST(DebertaV2Golden, LastHiddenStateMatchesReference) {
  GLICLASS_REQUIRE_GOLDEN();
  torch::NoGradGuard no_grad;
  int checked = 0;
  for (const auto& name : deberta_cases()) {
    auto c = load_case(name);
    if (!has_inputs(c)) continue;
    ++checked;
    const auto& input = c.cases.at("inputs").at(0);
    auto expected = json_tensor(input.at("intermediates").at("encoder_model").at(0).at("last_hidden_state"));
    auto out = c.model->forward(golden_input(c, input, true));
    ASSERT_EQ(out.last_hidden_state.sizes(), expected.sizes()) << name;
    double diff = max_abs_diff(out.last_hidden_state, expected);
    std::cout << "[ deberta ] " << name << ": last_hidden_state max |diff| = " << diff << " (L="
              << expected.size(1) << ")\n";
    EXPECT_LE(diff, 1e-4) << name;
    // HF's hidden_states tuple: embeddings + one per layer, the last = output.
    ASSERT_EQ(out.hidden_states.size(), static_cast<size_t>(c.model->num_hidden_layers() + 1)) << name;
    EXPECT_TRUE(torch::equal(out.hidden_states.back(), out.last_hidden_state)) << name;
  }
  EXPECT_GT(checked, 0) << "no uni-encoder deberta golden case with inputs";
}

// encoder_layer_id cases: hidden_states[id] is what the heads read. With
// "first" pooling and class tokens, the pooler output is H[id][0] and the
// class features are H[id] at the <<LABEL>> positions.
TEST(DebertaV2Golden, SelectedLayerMatchesReference) {
  GLICLASS_REQUIRE_GOLDEN();
  torch::NoGradGuard no_grad;
  int checked = 0;
  for (const auto& name : deberta_cases()) {
    auto c = load_case(name);
    int64_t layer_id = c.config.value("encoder_layer_id", -1);
    if (layer_id < 0 || !has_inputs(c)) continue;
    ASSERT_EQ(c.config.value("pooling_strategy", "first"), "first") << name;
    const auto& input = c.cases.at("inputs").at(0);
    const auto& inter = input.at("intermediates");
    auto out = c.model->forward(golden_input(c, input, true));
    auto h = out.hidden_states.at(layer_id);
    double diff = max_abs_diff(h.select(1, 0), json_tensor(inter.at("pooler").at(0).at("output")));
    if (c.config.value("class_token_pooling", "first") == "first" && c.config.value("embed_class_token", true)) {
      auto ids = ids_tensor(input.at("input_ids"));
      auto positions = (ids[0] == c.config.at("class_token_index").get<int64_t>()).nonzero().squeeze(1);
      auto expected = json_tensor(inter.at("classes_projector").at(0).at("input"));
      auto got = h[0].index_select(0, positions).unsqueeze(0);
      ASSERT_EQ(got.sizes(), expected.sizes()) << name;
      diff = std::max(diff, max_abs_diff(got, expected));
    }
    std::cout << "[ deberta ] " << name << ": hidden_states[" << layer_id << "] max |diff| = " << diff << "\n";
    EXPECT_LE(diff, 1e-4) << name;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no golden case sets encoder_layer_id";
}

// ------------------------------------------------------- batch invariance

// Right-pads rows into one batch and checks each row's real positions
// against the row run alone; returns the largest difference.
double batch_invariance_diff(DebertaV2ModelImpl& model, const std::vector<torch::Tensor>& rows, int64_t pad_id,
                             bool with_token_types) {
  int64_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, r.size(0));
  auto ids = torch::full({static_cast<int64_t>(rows.size()), longest}, pad_id, torch::kLong);
  auto mask = torch::zeros_like(ids);
  for (size_t i = 0; i < rows.size(); ++i) {
    ids[i].narrow(0, 0, rows[i].size(0)).copy_(rows[i]);
    mask[i].narrow(0, 0, rows[i].size(0)).fill_(1);
  }
  auto types = with_token_types ? (torch::arange(longest) % 2).expand({ids.size(0), longest}).contiguous() : torch::Tensor();
  EncoderInput batch{ids, mask, types, {}, true};
  auto together = model.forward(batch);
  double worst = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t n = rows[i].size(0);
    EncoderInput one{rows[i].unsqueeze(0), torch::ones({1, n}, torch::kLong),
                     with_token_types ? types.narrow(0, 0, 1).narrow(1, 0, n) : torch::Tensor(), {}, true};
    auto alone = model.forward(one);
    for (size_t k = 0; k < alone.hidden_states.size(); ++k)
      worst = std::max(worst, max_abs_diff(together.hidden_states[k][i].narrow(0, 0, n), alone.hidden_states[k][0]));
  }
  return worst;
}

TEST(DebertaV2Batch, PaddedRowsMatchAloneOnGoldenCases) {
  GLICLASS_REQUIRE_GOLDEN();
  torch::NoGradGuard no_grad;
  for (const auto& name : deberta_cases()) {
    auto c = load_case(name);
    // The segment case feeds inputs_embeds: InputsEmbedsPathMatchesIdsPath covers that path.
    if (!has_inputs(c) || c.config.value("use_segment_embeddings", false)) continue;
    std::vector<torch::Tensor> rows;  // the first inputs: several lengths, kept short for speed
    for (const auto& input : c.cases.at("inputs")) {
      rows.push_back(ids_tensor(input.at("input_ids"))[0]);
      if (rows.size() == 4) break;
    }
    int64_t pad = c.config.at("encoder_config").value("pad_token_id", 0);
    double diff = batch_invariance_diff(*c.model, rows, pad, false);
    std::cout << "[ deberta ] " << name << ": batch vs alone max |diff| = " << diff << "\n";
    EXPECT_LE(diff, 1e-6) << name;  // each row attends at its own length: exact but for the conv layer's rounding
  }
}

// Every optional part at once (absolute positions, token types, embed_proj,
// conv layer, separate position projections, log buckets) with random weights.
TEST(DebertaV2Batch, PaddedRowsMatchAloneWithEveryOption) {
  torch::manual_seed(7);
  torch::NoGradGuard no_grad;
  for (bool share : {true, false}) {
    auto config = tiny_config();
    config.share_att_key = share;
    config.conv_kernel_size = 3;
    config.conv_act = "gelu_new";
    config.embedding_size = 8;
    config.type_vocab_size = 2;
    config.position_biased_input = true;
    config.max_position_embeddings = 64;
    config.hidden_act = "gelu_new";
    config.validate();
    DebertaV2ModelImpl model(config);
    model.eval();
    std::vector<torch::Tensor> rows;
    for (int64_t n : {40, 3, 17, 40, 1}) rows.push_back(torch::randint(1, config.vocab_size, {n}, torch::kLong));
    double diff = batch_invariance_diff(model, rows, 0, true);
    std::cout << "[ deberta ] synthetic (share_att_key=" << share << "): batch vs alone max |diff| = " << diff << "\n";
    EXPECT_LE(diff, 1e-5);
  }
}

// The last layer at the read positions alone: those rows as the whole layer
// gives them (up to the GEMMs' rounding at another row count), every other
// position zero. Rows of 40 and 17 tokens gather past the table (span 8),
// rows of 3 and 1 take the wide form; one row reads nothing; each term alone
// and both, products in float32 and bfloat16.
TEST(DebertaV2Batch, ReadPositionsComputeTheRowsTheyName) {
  torch::manual_seed(11);
  torch::NoGradGuard no_grad;
  const std::vector<int64_t> lengths{40, 3, 17, 1, 9};
  auto ids = torch::randint(1, 50, {5, 40}, torch::kLong);
  auto mask = (torch::arange(40).unsqueeze(0) < torch::tensor(lengths).unsqueeze(1)).to(torch::kLong);
  auto read = torch::rand({5, 40}) < 0.3;
  read.select(1, 0).fill_(true);
  read[4].fill_(false);
  const auto kept = (read & mask.to(torch::kBool)).unsqueeze(2);
  for (const auto& terms : std::vector<std::vector<std::string>>{{"p2c", "c2p"}, {"c2p"}, {"p2c"}}) {
    for (DType dtype : {DType::kFloat32, DType::kBFloat16}) {
      auto config = tiny_config();
      config.pos_att_type = terms;
      auto model = std::make_shared<DebertaV2ModelImpl>(config);
      model->eval();
      runtime::set_dtype(*model, dtype);
      auto full = model->forward(EncoderInput{ids, mask}).last_hidden_state;
      EncoderInput in{ids, mask};
      in.read_positions = read;
      auto part = model->forward(in).last_hidden_state;
      const std::string what = terms.front() + (terms.size() > 1 ? "+" + terms.back() : "") +
                               (dtype == DType::kFloat32 ? " fp32" : " bf16");
      EXPECT_LE(max_abs_diff(part.masked_select(kept), full.masked_select(kept)), 1e-5) << what;
      EXPECT_EQ(part.masked_select(kept.logical_not()).abs().max().item<float>(), 0.f) << what;
      // Asked for hidden states, the encoder computes every position.
      in.output_hidden_states = true;
      EXPECT_LE(max_abs_diff(model->forward(in).last_hidden_state, full), 0.0) << what;
    }
  }
}

// The segment-embedding case goes through inputs_embeds; padded embeds must
// behave like padded ids.
TEST(DebertaV2Batch, InputsEmbedsPathMatchesIdsPath) {
  torch::manual_seed(3);
  torch::NoGradGuard no_grad;
  DebertaV2ModelImpl model(tiny_config());
  model.eval();
  auto ids = torch::randint(1, 50, {2, 12}, torch::kLong);
  auto mask = torch::ones_like(ids);
  mask[1].narrow(0, 7, 5).zero_();
  auto by_ids = model.forward(EncoderInput{ids, mask, {}, {}, false});
  auto by_embeds = model.forward(EncoderInput{{}, mask, {}, model.embed_tokens(ids), false});
  EXPECT_LE(max_abs_diff(by_ids.last_hidden_state, by_embeds.last_hidden_state), 0.0);
}

// Training mode: dropout is active (two passes differ) and every parameter
// gets a gradient; eval mode is deterministic.
TEST(DebertaV2Model, TrainModeAppliesDropoutAndBackpropagates) {
  torch::manual_seed(5);
  auto config = tiny_config();
  config.hidden_dropout_prob = 0.2;
  config.attention_probs_dropout_prob = 0.2;
  DebertaV2ModelImpl model(config);
  auto ids = torch::randint(1, 50, {2, 9}, torch::kLong);
  EncoderInput in{ids, torch::ones_like(ids), {}, {}, false};
  model.train();
  auto a = model.forward(in).last_hidden_state;
  auto b = model.forward(in).last_hidden_state;
  EXPECT_GT(max_abs_diff(a, b), 1e-3);
  a.pow(2).sum().backward();
  for (const auto& p : model.named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
  model.eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(model.forward(in).last_hidden_state, model.forward(in).last_hidden_state));
}

TEST(DebertaV2Model, BadInputsAreInputErrors) {
  DebertaV2ModelImpl model(tiny_config());
  auto ids = torch::randint(1, 50, {1, 5}, torch::kLong);
  EXPECT_THROW(model.forward(EncoderInput{}), InputError);
  EXPECT_THROW(model.forward(EncoderInput{ids, {}, {}, model.embed_tokens(ids), false}), InputError);
  EXPECT_THROW(model.forward(EncoderInput{ids, torch::ones({1, 4}, torch::kLong), {}, {}, false}), InputError);
  EXPECT_THROW(model.forward(EncoderInput{torch::full({1, 3}, 50, torch::kLong), {}, {}, {}, false}), InputError);
  EXPECT_THROW(model.forward(EncoderInput{torch::zeros({1, 0}, torch::kLong), {}, {}, {}, false}), InputError);
  try {
    model.forward(EncoderInput{torch::full({1, 3}, -2, torch::kLong), {}, {}, {}, false});
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("input_ids value out of range (expected 0..49, got -2)"), std::string::npos)
        << e.what();
  }
}


TEST(DebertaV2RelativePositions, RelShiftPicksTheOffsetColumn) {
  for (int64_t length : {1, 2, 5, 9}) {
    auto wide = torch::randn({2, 3, length, 2 * length - 1});
    auto shifted = rel_shift(wide);
    ASSERT_EQ(shifted.sizes(), (std::vector<int64_t>{2, 3, length, length}));
    for (int64_t i = 0; i < length; ++i)
      for (int64_t j = 0; j < length; ++j)
        EXPECT_TRUE(torch::equal(shifted.select(-2, i).select(-1, j), wide.select(-2, i).select(-1, j - i + length - 1)));
  }
}

TEST(DebertaV2RelativePositions, RowsFollowTheBucketedOffset) {
  auto config = tiny_config();  // buckets 8: |delta| < 4 kept, beyond log-bucketed up to 8
  auto rel = build_relative_positions(config, 20, torch::kCPU);
  const int64_t span = config.relative_span(), length = 20;
  ASSERT_EQ(rel.c2p_rows.size(0), 2 * length - 1);
  for (int64_t m = 0; m < 2 * length - 1; ++m) {
    const int64_t delta = length - 1 - m;
    const int64_t c2p = rel.c2p_rows[m].item<int64_t>(), p2c = rel.p2c_rows[m].item<int64_t>();
    EXPECT_EQ(c2p + p2c, 2 * span) << delta;  // bucket(delta) + span and span - bucket(delta)
    if (std::abs(delta) < span / 2) EXPECT_EQ(c2p, delta + span);
    EXPECT_GE(c2p, 0);
    EXPECT_LT(c2p, 2 * span);
  }
}

// The position projections are kept between inference calls and recomputed
// as soon as a parameter changes in place.
TEST(DebertaV2Model, CachedPositionProjectionsFollowWeightUpdates) {
  torch::manual_seed(9);
  DebertaV2ModelImpl model(tiny_config());
  model.eval();
  auto ids = torch::randint(1, 50, {2, 11}, torch::kLong);
  EncoderInput in{ids, torch::ones_like(ids), {}, {}, false};
  auto uncached = [&] { return model.forward(in).last_hidden_state.detach(); };  // grad mode: no cache
  torch::Tensor first, second;
  {
    c10::InferenceMode inference;
    first = model.forward(in).last_hidden_state;
    EXPECT_TRUE(torch::equal(model.forward(in).last_hidden_state, first));
  }
  EXPECT_TRUE(torch::allclose(first, uncached(), 1e-6, 1e-6));
  {
    torch::NoGradGuard no_grad;
    model.encoder->rel_embeddings->weight.add_(torch::randn_like(model.encoder->rel_embeddings->weight) * 3);
    second = model.forward(in).last_hidden_state;
  }
  EXPECT_GT(max_abs_diff(first, second), 2e-5);  // small: random positions are a small term
  EXPECT_TRUE(torch::allclose(second, uncached(), 1e-6, 1e-6));
}

// Past the table (2L-1 > 2*span) the scores are gathered from q.table instead
// of shifted from the wide form: the same entries, the same values.
TEST(DebertaV2RelativePositions, GatherPastTheTableEqualsTheWideShift) {
  torch::manual_seed(3);
  auto config = tiny_config();
  const int64_t span = config.relative_span(), length = 3 * span;
  auto rel = build_relative_positions(config, length, torch::kCPU);
  ASSERT_TRUE(rel.past_table && rel.c2p_index.defined());
  const auto within = build_relative_positions(config, span, torch::kCPU);
  EXPECT_FALSE(within.past_table || within.c2p_index.defined());
  // The per-row path reads only the rows: the same rows, no [L,L] index.
  const auto rows_only = build_relative_positions(config, length, torch::kCPU, /*with_index=*/false);
  EXPECT_TRUE(rows_only.past_table);
  EXPECT_FALSE(rows_only.c2p_index.defined() || rows_only.p2c_index.defined());
  EXPECT_TRUE(rows_only.c2p_rows.equal(rel.c2p_rows) && rows_only.p2c_rows.equal(rel.p2c_rows));
  auto q = torch::randn({length, 4}, torch::kDouble), table = torch::randn({2 * span, 4}, torch::kDouble);
  for (const auto& [rows, index] : {std::pair{rel.c2p_rows, rel.c2p_index}, {rel.p2c_rows, rel.p2c_index}}) {
    auto shifted = rel_shift(torch::matmul(q, table.index_select(0, rows).t()));
    auto gathered = torch::matmul(q, table.t()).gather(-1, index);
    EXPECT_LT((shifted - gathered).abs().max().item<double>(), 1e-12);
  }
}

// The per-head kernel against the formula, in double: both terms, one term,
// the wide (shifted) form and the gathered one.
TEST(DebertaV2RelativePositions, FusedScoresSoftmaxEqualsTheFormula) {
  torch::manual_seed(4);
  const int64_t n = 23;
  const float scale = 5.5f;
  auto qk = torch::randn({n, n}) * 3;
  auto c2p_wide = torch::randn({n, 2 * n - 1}) * 3, p2c_wide = torch::randn({n, 2 * n - 1}) * 3;
  auto table_c = torch::randn({n, 12}), table_p = torch::randn({n, 12});
  // Past the table: row r reads column rows[n-1-r+o], i.e. index[i,j] = rows[j-i+n-1].
  auto rows_c = torch::randint(0, 12, {2 * n - 1}, torch::kLong), rows_p = torch::randint(0, 12, {2 * n - 1}, torch::kLong);
  const auto range = torch::arange(n, torch::kLong);
  const auto diagonal = (range.unsqueeze(0) - range.unsqueeze(1) + (n - 1)).flatten();
  auto index_c = rows_c.index_select(0, diagonal).view({n, n}), index_p = rows_p.index_select(0, diagonal).view({n, n});
  auto d = [](const torch::Tensor& t) { return t.to(torch::kDouble); };
  auto wide_c = rel_shift(d(c2p_wide)), wide_p = rel_shift(d(p2c_wide)).t();
  auto gather_c = d(table_c).gather(1, index_c), gather_p = d(table_p).gather(1, index_p).t();
  auto term = [](const torch::Tensor& wide, const torch::Tensor& columns) {
    return RelativeTerm{wide.data_ptr<float>(), wide.size(1), columns.defined() ? columns.data_ptr<int64_t>() : nullptr};
  };
  struct Case {
    RelativeTerm c2p, p2c;
    torch::Tensor bias;  // in double
  };
  const std::vector<Case> cases{{term(c2p_wide, {}), term(p2c_wide, {}), wide_c + wide_p},
                                {term(c2p_wide, {}), {}, wide_c},
                                {{}, term(p2c_wide, {}), wide_p},
                                {term(table_c, rows_c), term(table_p, rows_p), gather_c + gather_p},
                                {{}, {}, torch::zeros({n, n}, torch::kDouble)}};
  for (size_t c = 0; c < cases.size(); ++c) {
    auto scores = qk.clone();
    disentangled_softmax_(scores.data_ptr<float>(), n, cases[c].c2p, cases[c].p2c, scale);
    auto expected = torch::softmax(d(qk) + cases[c].bias / scale, -1);
    EXPECT_LT(max_abs_diff(d(scores), expected), 1e-6) << "case " << c;
    // bfloat16 output: the float32 probabilities rounded as torch rounds them.
    auto scratch = qk.clone();
    auto bf16 = torch::empty({n, n}, torch::kBFloat16);
    disentangled_softmax_(scratch.data_ptr<float>(), n, cases[c].c2p, cases[c].p2c, scale,
                          reinterpret_cast<uint16_t*>(bf16.data_ptr()));
    EXPECT_TRUE(bf16.equal(scores.to(torch::kBFloat16))) << "case " << c;
    // Selected queries: their rows of scores and of the c2p product; p2c keeps a row per token.
    const std::vector<int64_t> queries{0, 5, 6, 22};
    const auto picked = torch::tensor(queries);
    auto some = qk.index_select(0, picked);
    RelativeTerm c2p = cases[c].c2p;
    const auto c2p_rows = c2p.wide ? torch::from_blob(const_cast<float*>(c2p.wide), {n, c2p.width}).index_select(0, picked)
                                   : torch::Tensor();
    if (c2p.wide) c2p.wide = c2p_rows.data_ptr<float>();
    disentangled_softmax_(some.data_ptr<float>(), n, c2p, cases[c].p2c, scale, nullptr, &queries);
    EXPECT_LT(max_abs_diff(d(some), expected.index_select(0, picked)), 1e-6) << "case " << c << ", queries";
  }
}

// The fused loop reads the tables and offset rows as raw memory: a table in
// another type or layout than the products', or rows of another length or
// type, is refused, not misread.
TEST(DebertaV2RelativePositions, AttentionRowsRefuseTablesTheyCannotRead) {
  const int64_t heads = 2, d = 4, n = 3, w = 8;
  auto x = torch::randn({n, heads * d});
  auto table = torch::randn({heads, w, d});
  auto offset_rows = torch::randint(0, w, {2 * n - 1}, torch::kLong);
  auto run = [&](const torch::Tensor& key, const torch::Tensor& c2p_rows, bool bf16) {
    DisentangledRows rows{{n}, {0}, {key, {}}, {}};
    rows.offsets_by_length[n] = {c2p_rows, {}, false};
    return disentangled_attention_rows(x, x, x, rows, heads, 2.f, bf16);
  };
  EXPECT_EQ(run(table, offset_rows, false).sizes(), x.sizes());
  EXPECT_THROW(run(table, offset_rows, true), c10::Error);                          // float32 tables, bf16 products
  EXPECT_THROW(run(table.transpose(0, 1).contiguous(), offset_rows, false), c10::Error);  // [W, H, d]
  EXPECT_THROW(run(table.transpose(1, 2), offset_rows, false), c10::Error);         // not contiguous
  EXPECT_THROW(run(table, offset_rows.narrow(0, 0, 2 * n - 2), false), c10::Error);  // not 2n-1 rows
  EXPECT_THROW(run(table, offset_rows.to(torch::kInt), false), c10::Error);         // int32
  EXPECT_THROW(run(table, offset_rows.fill_(w), false), c10::Error);                  // past the table
}

}  // namespace
}  // namespace gliclass::encoders
