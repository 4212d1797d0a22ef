// Unit tests of the model heads: poolings, projectors, scorers and the
// feature extraction, on small hand-made tensors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "gliclass/error.h"
#include "io/config.h"
#include "model/features.h"
#include "model/layerwise_attention.h"
#include "model/lstm.h"
#include "model/model.h"
#include "model/poolings.h"
#include "model/projectors.h"
#include "model/scorers.h"

namespace gm = gliclass::model;

namespace {

// Row 0: 3 real positions of 4; row 1: all 4.
//   x[0] = [[1,-2],[3,0],[-5,4],[9,9]]   x[1] = [[2,2],[-1,-6],[0,1],[4,-3]]
torch::Tensor sample() {
  return torch::tensor({1., -2., 3., 0., -5., 4., 9., 9., 2., 2., -1., -6., 0., 1., 4., -3.},
                       torch::kFloat)
      .view({2, 4, 2});
}
torch::Tensor sample_lengths() { return torch::tensor({3, 4}, torch::kLong); }

torch::Tensor pooled(const std::string& name) {
  return gm::pool(gm::pooling_from_name(name), sample(), sample_lengths());
}

void expect_values(const torch::Tensor& got, std::vector<float> want) {
  auto flat = got.contiguous().view(-1);
  ASSERT_EQ(flat.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(flat[i].item<float>(), want[i], 1e-5) << "element " << i;
}

}  // namespace

TEST(Poolings, FirstAndLastUseTheRowLength) {
  expect_values(pooled("first"), {1, -2, 2, 2});
  // last = position len-1 of each row, not the padded end.
  expect_values(pooled("last"), {-5, 4, 4, -3});
}

TEST(Poolings, MaxAndSumIgnorePastTheLength) {
  expect_values(pooled("max"), {3, 4, 4, 2});
  expect_values(pooled("sum"), {-1, 2, 5, -6});
}

TEST(Poolings, AverageAndRmsDivideByTheLength) {
  expect_values(pooled("avg"), {-1.f / 3, 2.f / 3, 5.f / 4, -6.f / 4});
  expect_values(pooled("rms"), {std::sqrt(35.f / 3), std::sqrt(20.f / 3), std::sqrt(21.f / 4),
                                std::sqrt(50.f / 4)});
}

TEST(Poolings, AbsoluteVariants) {
  expect_values(pooled("abs_max"), {5, 4, 4, 6});
  expect_values(pooled("abs_avg"), {9.f / 3, 6.f / 3, 7.f / 4, 12.f / 4});
}

TEST(Poolings, PassIsIdentity) {
  auto x = sample();
  EXPECT_TRUE(pooled("pass").equal(x));
}

TEST(Poolings, PaddedRowEqualsRowAlone) {
  // Batch invariance: a row pooled inside a padded batch equals the same row
  // pooled alone over its own positions.
  auto x = torch::randn({3, 7, 5});
  auto lengths = torch::tensor({7, 2, 5}, torch::kLong);
  for (const auto& name : gm::pooling_names()) {
    if (name == "pass") continue;
    auto kind = gm::pooling_from_name(name);
    auto batch = gm::pool(kind, x, lengths);
    for (int64_t b = 0; b < 3; ++b) {
      const int64_t n = lengths[b].item<int64_t>();
      auto alone = gm::pool(kind, x.slice(0, b, b + 1).slice(1, 0, n), torch::tensor({n}));
      EXPECT_TRUE(torch::allclose(batch[b], alone[0], 1e-6, 1e-6)) << name << " row " << b;
    }
  }
}

TEST(Poolings, UnknownNameListsTheKnownOnes) {
  try {
    gm::pooling_from_name("median");
    FAIL() << "expected ModelError";
  } catch (const gliclass::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("abs_avg"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("median"), std::string::npos) << e.what();
  }
}

TEST(Projectors, LinearGeluLinearWithCheckpointNames) {
  gm::FeaturesProjector proj(3, 5, "gelu", 0.1);
  auto params = proj->named_parameters();
  EXPECT_TRUE(params.contains("linear_1.weight"));
  EXPECT_TRUE(params.contains("linear_2.bias"));
  EXPECT_EQ(params["linear_1.weight"].sizes(), torch::IntArrayRef({5, 3}));
  EXPECT_EQ(params["linear_2.weight"].sizes(), torch::IntArrayRef({3, 5}));
  proj->eval();
  auto x = torch::randn({2, 4, 3});
  auto h = proj->linear_1->forward(x);
  auto erf_gelu = 0.5 * h * (1 + torch::erf(h / std::sqrt(2.0)));
  auto want = proj->linear_2->forward(erf_gelu);
  EXPECT_TRUE(torch::allclose(proj->forward(x), want, 1e-6, 1e-6));
}

TEST(Projectors, DropoutOnlyInTraining) {
  torch::manual_seed(0);
  gm::FeaturesProjector proj(8, 64, "gelu", 0.5);
  auto x = torch::randn({4, 8});
  proj->eval();
  EXPECT_TRUE(proj->forward(x).equal(proj->forward(x)));
  proj->train();
  EXPECT_FALSE(proj->forward(x).equal(proj->forward(x)));
}

TEST(Projectors, BiEncoderProjectorMapsLabelToEncoderSize) {
  gm::BiEncoderProjector proj(6, 10, 4, "gelu");
  EXPECT_EQ(proj->forward(torch::randn({2, 3, 6})).sizes(), torch::IntArrayRef({2, 3, 4}));
  EXPECT_THROW(gm::FeaturesProjector(3, 5, "mish", 0.0), gliclass::ModelError);
}

namespace {

gm::ScorerSizes small_sizes() {
  gm::ScorerSizes s;
  s.hidden = 8;
  s.mlp_hidden = 16;
  s.mlp_hidden2 = 8;
  s.num_heads = 2;
  return s;
}

gm::ScorerInput scorer_input(const gm::ScorerPtr& scorer, int64_t b, int64_t k) {
  gm::ScorerInput in;
  in.text = scorer->token_level() ? torch::randn({b, 6, 8}) : torch::randn({b, 8});
  in.classes = torch::randn({b, k, 8});
  in.text_mask = torch::ones({b, 6}, torch::kLong);
  in.text_mask.index_put_({0, torch::indexing::Slice(4)}, 0);
  in.classes_mask = torch::ones({b, k}, torch::kLong);
  return in;
}

}  // namespace

TEST(Scorers, ShapeFiniteAndGradientsFlow) {
  torch::manual_seed(1);
  for (const auto& type : gm::scorer_names()) {
    auto scorer = gm::make_scorer(type, small_sizes());
    auto in = scorer_input(scorer, 3, 4);
    in.classes.set_requires_grad(true);
    auto logits = scorer->forward(in);
    ASSERT_EQ(logits.sizes(), torch::IntArrayRef({3, 4})) << type;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << type;
    logits.sum().backward();
    ASSERT_TRUE(in.classes.grad().defined()) << type;
    EXPECT_GT(in.classes.grad().abs().sum().item<float>(), 0) << type;
    for (const auto& p : scorer->named_parameters()) {
      ASSERT_TRUE(p.value().grad().defined()) << type << " " << p.key();
      EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << type << " " << p.key();
    }
  }
}

TEST(Scorers, CheckpointNames) {
  auto names = [](const std::string& type) {
    return gm::make_scorer(type, small_sizes())->named_parameters();
  };
  EXPECT_TRUE(names("simple").is_empty());
  EXPECT_TRUE(names("weighted-dot").contains("out_mlp.3.weight"));
  EXPECT_TRUE(names("weighted-dot").contains("proj_label.bias"));
  EXPECT_TRUE(names("mlp").contains("mlp.4.weight"));
  EXPECT_EQ(names("mlp")["mlp.0.weight"].sizes(), torch::IntArrayRef({16, 16}));
  EXPECT_FALSE(names("hopfield").contains("q_proj.bias"));
  EXPECT_EQ(names("hopfield")["mlp.0.weight"].sizes(), torch::IntArrayRef({16, 8}));
  EXPECT_TRUE(names("cross-attn").contains("kv_norm.weight"));
  EXPECT_EQ(names("cross-attn")["score_mlp.2.weight"].sizes(), torch::IntArrayRef({8, 16}));
  EXPECT_THROW(gm::make_scorer("bilinear", small_sizes()), gliclass::ModelError);
}

TEST(Scorers, SimpleIsTheDotProduct) {
  auto scorer = gm::make_scorer("simple", small_sizes());
  gm::ScorerInput in;
  in.text = torch::tensor({{1.f, 2.f}});
  in.classes = torch::tensor({{{3.f, 4.f}, {-1.f, 0.5f}}});
  expect_values(scorer->forward(in), {11, 0});
}

TEST(Scorers, PaddedLabelSlotsDoNotChangeRealOnes) {
  // Every scorer, hopfield included (its softmax couples labels), scores a
  // row's own labels the same whatever padded slots follow them.
  torch::manual_seed(2);
  for (const auto& type : gm::scorer_names()) {
    auto scorer = gm::make_scorer(type, small_sizes());
    scorer->eval();
    auto in = scorer_input(scorer, 2, 3);
    auto own = scorer->forward(in);
    auto padded = in;
    padded.classes = torch::cat({in.classes, torch::randn({2, 2, 8})}, 1);
    padded.classes_mask = torch::cat({in.classes_mask, torch::zeros({2, 2}, torch::kLong)}, 1);
    auto more = scorer->forward(padded);
    EXPECT_TRUE(torch::allclose(more.slice(1, 0, 3), own, 1e-5, 1e-6)) << type;
  }
}

TEST(Scorers, CrossAttnIgnoresMaskedTokens) {
  torch::manual_seed(3);
  auto scorer = gm::make_scorer("cross-attn", small_sizes());
  scorer->eval();
  auto in = scorer_input(scorer, 2, 3);
  auto base = scorer->forward(in);
  auto changed = in;
  changed.text = in.text.clone();
  changed.text.index_put_({0, torch::indexing::Slice(4)}, 100.0);  // masked positions of row 0
  EXPECT_TRUE(torch::allclose(scorer->forward(changed), base, 1e-5, 1e-6));
  // Without a mask every token counts.
  auto unmasked = changed;
  unmasked.text_mask = torch::Tensor();
  EXPECT_FALSE(torch::allclose(scorer->forward(unmasked)[0], base[0], 1e-3, 1e-3));
}

TEST(ClassFeatures, FirstTokenAndNextToken) {
  // ids: [CLS] L a L b c SEP t [SEP] pad ; L = 7, SEP = 8.
  auto ids = torch::tensor({{1, 7, 3, 7, 4, 5, 8, 6, 2, 0}}, torch::kLong);
  auto mask = torch::tensor({{1, 1, 1, 1, 1, 1, 1, 1, 1, 0}}, torch::kLong);
  auto hidden = torch::arange(10, torch::kFloat).view({1, 10, 1});
  gm::ClassFeatureOptions o;
  o.class_token_index = 7;
  o.text_token_index = 8;
  auto f = gm::extract_class_features(hidden, ids, mask, 3, o);
  expect_values(f.embeddings, {1, 3, 0});
  expect_values(f.mask, {1, 1, 0});
  o.embed_class_token = false;
  expect_values(gm::extract_class_features(hidden, ids, mask, 3, o).embeddings, {2, 4, 0});
}

TEST(ClassFeatures, NextTokenPastTheRowIsZero) {
  auto ids = torch::tensor({{1, 7, 3, 7, 0}}, torch::kLong);
  auto mask = torch::tensor({{1, 1, 1, 1, 0}}, torch::kLong);
  auto hidden = torch::arange(1, 6, torch::kFloat).view({1, 5, 1});
  gm::ClassFeatureOptions o;
  o.class_token_index = 7;
  o.embed_class_token = false;
  expect_values(gm::extract_class_features(hidden, ids, mask, 2, o).embeddings, {3, 0});
}

TEST(ClassFeatures, AverageSpansAndTheLastLabelQuirk) {
  auto ids = torch::tensor({{1, 7, 3, 7, 4, 5, 8, 6, 2, 0}}, torch::kLong);
  auto mask = torch::tensor({{1, 1, 1, 1, 1, 1, 1, 1, 1, 0}}, torch::kLong);
  auto hidden = torch::arange(10, torch::kFloat).view({1, 10, 1});
  gm::ClassFeatureOptions o;
  o.class_token_index = 7;
  o.text_token_index = 8;
  o.average = true;
  // Label 1's span runs to the end of the row (positions 3..8), not to <<SEP>>.
  expect_values(gm::extract_class_features(hidden, ids, mask, 3, o).embeddings,
                {1.5f, (3 + 4 + 5 + 6 + 7 + 8) / 6.f, 0});
  o.cut_at_text_token = true;
  expect_values(gm::extract_class_features(hidden, ids, mask, 3, o).embeddings, {1.5f, 4, 0});
  o.embed_class_token = false;
  expect_values(gm::extract_class_features(hidden, ids, mask, 3, o).embeddings, {2, 4.5f, 0});
}

TEST(ClassFeatures, ShiftedTextTokens) {
  auto ids = torch::tensor({{1, 7, 3, 8, 4, 2, 0, 0}, {1, 5, 6, 2, 0, 0, 0, 0}}, torch::kLong);
  auto mask = torch::tensor({{1, 1, 1, 1, 1, 1, 0, 0}, {1, 1, 1, 1, 0, 0, 0, 0}}, torch::kLong);
  auto hidden = torch::arange(1, 17, torch::kFloat).view({2, 8, 1});
  auto t = gm::shift_text_tokens(hidden, ids, mask, 8);
  // Row 0 from <<SEP>> (position 3): 4,5,6 then zeros; row 1 has no <<SEP>>: from 0.
  expect_values(t.tokens, {4, 5, 6, 0, 0, 0, 0, 0, 9, 10, 11, 12, 0, 0, 0, 0});
  expect_values(t.mask, {1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0});
}

TEST(ClassFeatures, FirstTokenPositionsAreWhatFirstFeaturesRead) {
  // ids: [CLS] L a L b <<SEP>> t [SEP] pad ; L = 7, <<SEP>> = 8. Row 1 has no <<SEP>>.
  auto ids = torch::tensor({{1, 7, 3, 7, 4, 8, 6, 2, 0}, {1, 7, 3, 6, 2, 0, 0, 0, 0}}, torch::kLong);
  auto mask = torch::tensor({{1, 1, 1, 1, 1, 1, 1, 1, 0}, {1, 1, 1, 1, 1, 0, 0, 0, 0}}, torch::kLong);
  gm::ClassFeatureOptions o;
  o.class_token_index = 7;
  o.text_token_index = 8;
  auto positions = [&] { return gm::first_token_positions(ids, mask, o).to(torch::kFloat); };
  expect_values(positions(), {1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0});
  o.embed_class_token = false;  // the tokens after the <<LABEL>>s
  expect_values(positions(), {1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0});
  o.cut_at_text_token = true;  // the text from <<SEP>>, or from 0 without one
  expect_values(positions(), {0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0});
}

TEST(ClassFeatures, SegmentIdsKeepTheArgminQuirk) {
  // <<SEP>> = 8, <<EXAMPLE>> = 9.
  auto ids = torch::tensor({{1, 7, 3, 8, 4, 2, 0}, {1, 7, 8, 4, 9, 5, 2}}, torch::kLong);
  auto mask = torch::tensor({{1, 1, 1, 1, 1, 1, 0}, {1, 1, 1, 1, 1, 1, 1}}, torch::kLong);
  auto seg = gm::segment_ids(ids, mask, 8, 9);
  // No example: 1 from the first <<SEP>>. With one: the whole row is 2.
  expect_values(seg.to(torch::kFloat), {0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2});
}

TEST(ClassFeatures, LstmAndLayerwiseAreRowLocal) {
  torch::manual_seed(4);
  gm::LstmSeq2SeqEncoder lstm(6, 3);
  EXPECT_TRUE(lstm->named_parameters().contains("lstm.weight_hh_l0_reverse"));
  auto x = torch::randn({2, 5, 6});
  auto out = lstm->forward(x, torch::tensor({5, 3}));
  auto alone = lstm->forward(x.slice(0, 1, 2).slice(1, 0, 3), torch::tensor({3}));
  EXPECT_TRUE(torch::allclose(out[1].slice(0, 0, 3), alone[0], 1e-5, 1e-6));
  EXPECT_TRUE(out[1].slice(0, 3).abs().sum().item<float>() == 0);

  gm::LayerwiseAttention lw(3, 6);
  std::vector<torch::Tensor> states = {torch::randn({2, 5, 6}), torch::randn({2, 5, 6}),
                                       torch::randn({2, 5, 6})};
  auto mixed = lw->forward(states, torch::tensor({5, 2}));
  std::vector<torch::Tensor> row;
  for (auto& s : states) row.push_back(s.slice(0, 1, 2).slice(1, 0, 2));
  EXPECT_TRUE(torch::allclose(mixed[1].slice(0, 0, 2), lw->forward(row, torch::tensor({2}))[0],
                              1e-5, 1e-6));
}

// --- the whole uni-encoder on a tiny random DeBERTa ----------------------------

namespace {

constexpr int64_t kLabel = 37, kSep = 38, kExample = 39;

gliclass::io::GLiClassConfig tiny_config() {
  gliclass::io::GLiClassConfig c;
  c.encoder_config = {{"model_type", "deberta-v2"}, {"vocab_size", 40}, {"hidden_size", 16},
                      {"num_hidden_layers", 2}, {"num_attention_heads", 2},
                      {"intermediate_size", 32}, {"max_position_embeddings", 64},
                      {"relative_attention", true}, {"pos_att_type", {"p2c", "c2p"}},
                      {"position_buckets", 8}, {"max_relative_positions", -1},
                      {"position_biased_input", false}, {"type_vocab_size", 0},
                      {"layer_norm_eps", 1e-7}, {"pad_token_id", 0}};
  c.vocab_size = 40;
  c.class_token_index = kLabel;
  c.text_token_index = kSep;
  c.example_token_index = kExample;
  c.scorer_num_heads = 2;
  c.scorer_mlp_hidden_size = 16;
  return c;
}

// [CLS] (<<LABEL>> w)*labels <<SEP>> text [<<EXAMPLE>> w] [SEP]
std::vector<int64_t> make_row(int64_t labels, int64_t text, bool example) {
  std::vector<int64_t> row{1};
  for (int64_t k = 0; k < labels; ++k) {
    row.push_back(kLabel);
    row.push_back(4 + (k * 7) % 30);
  }
  row.push_back(kSep);
  for (int64_t t = 0; t < text; ++t) row.push_back(4 + (t * 11 + labels) % 30);
  if (example) {
    row.push_back(kExample);
    row.push_back(9);
  }
  row.push_back(2);
  return row;
}

// Max |batch row - row alone| over the rows' own labels.
double batch_gap(gm::GLiClassModelImpl& model) {
  const std::vector<std::vector<int64_t>> rows = {make_row(3, 9, false), make_row(1, 2, true),
                                                  make_row(5, 4, false)};
  const std::vector<int64_t> labels = {3, 1, 5};
  const int64_t len = 9 + 2 * 5 + 12;
  auto ids = torch::zeros({3, len}, torch::kLong), mask = torch::zeros({3, len}, torch::kLong);
  for (int64_t b = 0; b < 3; ++b) {
    auto n = static_cast<int64_t>(rows[b].size());
    ids[b].slice(0, 0, n).copy_(torch::tensor(rows[b]));
    mask[b].slice(0, 0, n).fill_(1);
  }
  torch::NoGradGuard no_grad;
  auto batch = model.forward({ids, mask, {}, 6}).logits;
  double gap = 0;
  for (int64_t b = 0; b < 3; ++b) {
    auto row = torch::tensor(rows[b]).unsqueeze(0);
    auto alone = model.forward({row, torch::ones_like(row), {}, labels[b]}).logits[0];
    EXPECT_TRUE(torch::isfinite(alone).all().item<bool>());
    gap = std::max(gap, (batch[b].slice(0, 0, labels[b]) - alone).abs().max().item<double>());
  }
  return gap;
}

}  // namespace

TEST(UniEncoderModel, BatchRowsEqualRowsAloneForEveryOption) {
  torch::manual_seed(5);
  const std::vector<std::string> scorers = {"simple", "weighted-dot", "mlp", "hopfield"};
  int variant = 0;
  for (const auto& pooling : gm::pooling_names()) {
    for (int flags = 0; flags < 8; ++flags) {
      auto c = tiny_config();
      c.pooling_strategy = pooling;
      c.scorer_type = pooling == "pass" ? "cross-attn" : scorers[variant % scorers.size()];
      c.extract_text_features = flags & 1;
      c.use_lstm = flags & 2;
      c.class_token_pooling = (flags & 4) ? "average" : "first";
      c.embed_class_token = variant % 3 != 0;
      c.use_segment_embeddings = variant % 2 == 0;
      c.normalize_features = variant % 4 == 1;
      c.squeeze_layers = variant % 5 == 2;
      c.encoder_layer_id = variant % 7 == 3 ? 1 : -1;
      ++variant;
      // pass + LSTM + extracted text has no batch-of-one reference (it crashes there).
      if (pooling == "pass" && c.use_lstm && c.extract_text_features) continue;
      auto model = gm::make_model(c);
      model->eval();
      EXPECT_LT(batch_gap(*model), 1e-5)
          << pooling << " scorer " << c.scorer_type << " flags " << flags << " variant " << variant;
    }
  }
}

// At inference "first" features let the encoder run its last layer at the
// positions they read alone (EncoderInput::read_positions); the logits are
// those of the full forward (autograd on: every position computed).
TEST(UniEncoderModel, FirstFeaturesFromTheReadPositionsEqualTheFullForward) {
  torch::manual_seed(6);
  const std::vector<std::vector<int64_t>> rows = {make_row(3, 9, false), make_row(1, 2, false), make_row(5, 4, false)};
  size_t len = 0;
  for (const auto& row : rows) len = std::max(len, row.size());
  auto ids = torch::zeros({3, static_cast<int64_t>(len)}, torch::kLong), mask = torch::zeros_like(ids);
  for (int64_t b = 0; b < 3; ++b) {
    auto n = static_cast<int64_t>(rows[b].size());
    ids[b].slice(0, 0, n).copy_(torch::tensor(rows[b]));
    mask[b].slice(0, 0, n).fill_(1);
  }
  for (int flags = 0; flags < 4; ++flags) {
    auto c = tiny_config();
    c.pooling_strategy = "first";
    c.class_token_pooling = "first";
    c.extract_text_features = flags & 1;
    c.embed_class_token = flags & 2;
    auto model = gm::make_model(c);
    model->eval();
    auto full = model->forward({ids, mask, {}, 5}).logits.detach();
    torch::NoGradGuard no_grad;
    auto read = model->forward({ids, mask, {}, 5}).logits;
    EXPECT_LT((read - full).abs().max().item<double>(), 1e-5) << "flags " << flags;
  }
}

TEST(UniEncoderModel, ModuleNamesMatchTheCheckpointLayout) {
  auto c = tiny_config();
  c.use_lstm = true;
  c.squeeze_layers = true;
  c.use_segment_embeddings = true;
  c.scorer_type = "hopfield";
  auto params = gm::make_model(c)->named_parameters();
  for (const char* name :
       {"logit_scale", "text_projector.linear_1.weight", "classes_projector.linear_2.bias",
        "scorer.q_proj.weight", "scorer.mlp.4.bias", "lstm.lstm.weight_ih_l0_reverse",
        "layer_wise_attention.W1.weight", "layer_wise_attention.output_projection.bias",
        "segment_embeddings.weight", "encoder_model.embeddings.word_embeddings.weight"})
    EXPECT_TRUE(params.contains(name)) << name;
  EXPECT_EQ(params["logit_scale"].dim(), 0);
  // The reference's hopfield MLP is 256 -> 128 whatever scorer_mlp_hidden_size says.
  EXPECT_EQ(params["scorer.mlp.0.weight"].sizes(), torch::IntArrayRef({256, 16}));
  // Layer-wise attention mixes embeddings + 2 layers.
  EXPECT_EQ(params["layer_wise_attention.W1.weight"].sizes(), torch::IntArrayRef({1, 3}));
}

TEST(UniEncoderModel, ConfigErrorsNameTheProblem) {
  auto c = tiny_config();
  c.architecture_type = "seq2seq";
  EXPECT_THROW(gm::make_model(c), gliclass::ModelError);
  c = tiny_config();
  c.scorer_type = "cross-attn";  // needs "pass" pooling
  EXPECT_THROW(gm::make_model(c), gliclass::ModelError);
  c = tiny_config();
  c.encoder_layer_id = 7;
  auto model = gm::make_model(c);
  auto row = torch::tensor(make_row(2, 3, false)).unsqueeze(0);
  EXPECT_THROW(model->forward({row, torch::ones_like(row), {}, 2}), gliclass::ModelError);
}
