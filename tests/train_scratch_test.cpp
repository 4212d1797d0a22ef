// Models to train from scratch: `gliclass init`'s tokenizer training, token
// layout, weight initialisation, and that the result loads and runs.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "gliclass/gliclass.h"
#include "io/config.h"
#include "test_util.h"
#include "tokenize/tokenizer.h"
#include "train/scratch.h"

namespace fs = std::filesystem;
using gliclass::testing::TempDir;
using gliclass::testing::golden_dir;
using gliclass::testing::read_json;
using gliclass::testing::shared_dir;

namespace {

// The first `n` lines of the debtags training set, as a file of its own.
fs::path debtags_sample(const fs::path& dir, int n) {
  std::ifstream in(shared_dir() / "data" / "debtags" / "train.jsonl");
  const fs::path out_file = dir / "sample.jsonl";
  std::ofstream out(out_file);
  std::string line;
  for (int i = 0; i < n && std::getline(in, line); ++i) out << line << "\n";
  return out_file;
}

TEST(TrainScratch, TrainedTokenizerHasTheReferenceTokenLayoutAndTheModelRuns) {
  GLICLASS_REQUIRE_GOLDEN();
  if (!fs::exists(shared_dir() / "data" / "debtags" / "train.jsonl"))
    GTEST_SKIP() << "debtags data not found under " << shared_dir();
  TempDir tmp("tok");
  gliclass::train::ScratchOptions o;
  o.config_file = golden_dir() / "deberta_first_simple_pf" / "config.json";
  o.corpus_files = {debtags_sample(tmp.path, 300)};
  o.vocab_size = 400;
  o.out_dir = tmp.path / "model";
  const int64_t params = gliclass::train::init_model_dir(o);
  EXPECT_GT(params, 0);

  for (const char* f : {"config.json", "model.safetensors", "spm.model", "tokenizer_config.json",
                        "special_tokens_map.json", "added_tokens.json"})
    EXPECT_TRUE(fs::is_regular_file(o.out_dir / f)) << f;
  const auto tok = gliclass::tokenize::Tokenizer::from_dir(o.out_dir);
  const auto config = gliclass::io::GLiClassConfig::from_file(o.out_dir / "config.json");
  // [MASK] right after the spm pieces, then the three markers; embeddings cover them.
  const int64_t pieces = *tok->token_to_id("[MASK]");
  EXPECT_LE(pieces, 400);
  EXPECT_EQ(config.class_token_index, pieces + 1);
  EXPECT_EQ(config.text_token_index, pieces + 2);
  EXPECT_EQ(config.example_token_index, pieces + 3);
  EXPECT_EQ(config.encoder_config.at("vocab_size").get<int64_t>(), pieces + 4);
  EXPECT_EQ(tok->encode("<<LABEL>>Games<<SEP>>").ids.front(), pieces + 1);
  EXPECT_EQ(*tok->token_to_id("[PAD]"), 0);
  EXPECT_EQ(*tok->token_to_id("[CLS]"), 1);
  EXPECT_EQ(*tok->token_to_id("[SEP]"), 2);
  EXPECT_EQ(*tok->token_to_id("[UNK]"), 3);
  // The training words are in the vocabulary: a common word is one piece.
  EXPECT_EQ(tok->encode("the").size(), 1u);

  auto clf = gliclass::Classifier::load(o.out_dir);
  auto r = clf.classify(gliclass::ClassifyRequest{"A free real-time strategy game.", {"Games", "Editors"}});
  ASSERT_EQ(r.scores.size(), 2u);
  for (float s : r.scores) EXPECT_TRUE(std::isfinite(s));
}

TEST(TrainScratch, CopiedTokenizerKeepsItsMarkerIds) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir tmp("copy");
  gliclass::train::ScratchOptions o;
  o.config_file = golden_dir() / "deberta_first_simple_pf" / "config.json";
  o.tokenizer_dir = golden_dir() / "deberta_first_simple_pf";
  o.out_dir = tmp.path / "model";
  gliclass::train::init_model_dir(o);
  const auto want = read_json(golden_dir() / "deberta_first_simple_pf" / "config.json");
  const auto got = read_json(o.out_dir / "config.json");
  for (const char* key : {"class_token_index", "text_token_index", "example_token_index", "vocab_size"})
    EXPECT_EQ(got.at(key), want.at(key)) << key;
  EXPECT_NO_THROW(gliclass::Classifier::load(o.out_dir));
}

TEST(TrainScratch, TokenizerWithoutMarkersIsAnInputErrorAndWritesNothing) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir tmp("nomarkers");
  gliclass::train::ScratchOptions o;
  o.config_file = golden_dir() / "deberta_first_simple_pf" / "config.json";
  // The golden DeBERTa tokenizer's spm.model alone: no added tokens at all.
  fs::create_directories(tmp.path / "bare");
  fs::copy_file(golden_dir() / "deberta_first_simple_pf" / "spm.model", tmp.path / "bare" / "spm.model");
  o.tokenizer_dir = tmp.path / "bare";
  o.out_dir = tmp.path / "model";
  try {
    gliclass::train::init_model_dir(o);
    FAIL() << "expected an InputError";
  } catch (const gliclass::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("<<LABEL>>"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(o.out_dir));
  o.tokenizer_dir.clear();  // neither a corpus nor a tokenizer
  EXPECT_THROW(gliclass::train::init_model_dir(o), gliclass::InputError);
}

TEST(TrainScratch, InitWeightsFollowsHuggingFaceInit) {
  torch::nn::Sequential net(torch::nn::Linear(64, 256), torch::nn::LayerNorm(torch::nn::LayerNormOptions({256})),
                            torch::nn::Linear(256, 64));
  gliclass::train::init_weights(*net, "0.", 0.02, 0.5, 7);
  const auto params = net->named_parameters();
  EXPECT_NEAR(params["0.weight"].std().item<double>(), 0.02, 0.002);
  EXPECT_NEAR(params["2.weight"].std().item<double>(), 0.5, 0.05);
  EXPECT_EQ(params["0.bias"].abs().max().item<double>(), 0.0);
  EXPECT_EQ(params["1.weight"].min().item<double>(), 1.0);
  EXPECT_EQ(params["1.bias"].abs().max().item<double>(), 0.0);
  // Same seed, same weights.
  torch::nn::Sequential again(torch::nn::Linear(64, 256), torch::nn::LayerNorm(torch::nn::LayerNormOptions({256})),
                              torch::nn::Linear(256, 64));
  gliclass::train::init_weights(*again, "0.", 0.02, 0.5, 7);
  EXPECT_TRUE(torch::equal(again->named_parameters()["2.weight"], params["2.weight"]));
}

}  // namespace
