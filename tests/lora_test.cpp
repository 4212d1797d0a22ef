// LoRA adapters (issue "LoRA adapters"): PEFT directories read and written,
// applied unmerged (per request) or merged into the weights with the same
// logits, several over one base model, trained by `gliclass train --lora`
// and reloaded to the logits the trainer evaluated.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <tuple>

#include "gliclass/gliclass.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "io/peft_adapter.h"
#include "model/adapters.h"
#include "model/model.h"
#include "test_util.h"
#include "train/metrics.h"
#include "train/scoring.h"
#include "train/data.h"
#include "train/trainer.h"

using namespace gliclass;
namespace fs = std::filesystem;
using gliclass::testing::golden_dir;
using gliclass::testing::TempDir;

namespace {

const char* kCase = "deberta_first_simple_pf";

fs::path base_dir() { return golden_dir() / kCase; }

// A random adapter over the encoder's attention projections, named as the
// reference's get_peft_model(encoder) saves it (paths inside the encoder), or
// as GLiClass state-dict names when `model_names`.
io::PeftAdapter random_adapter(int64_t r, double alpha, bool zero_b, bool model_names, uint64_t seed) {
  torch::manual_seed(seed);
  const auto config = io::GLiClassConfig::from_file(base_dir() / "config.json");
  auto model = model::load_model(base_dir(), config);
  io::PeftAdapter a;
  a.config.r = r;
  a.config.lora_alpha = alpha;
  a.config.target_modules = {"query_proj", "value_proj"};
  for (const auto& item : model->named_parameters()) {
    const auto& name = item.key();  // encoder_model.encoder.layer.N.attention.self.query_proj.weight
    for (const char* target : {".query_proj.weight", ".value_proj.weight"}) {
      if (name.size() < strlen(target) || name.compare(name.size() - strlen(target), std::string::npos, target) != 0)
        continue;
      const auto module = name.substr(0, name.size() - std::string(".weight").size());
      const std::string path = model_names ? "model." + module : module.substr(std::string("encoder_model.").size());
      const auto& w = item.value();
      a.layers[path] = {torch::randn({r, w.size(1)}) * 0.3,
                        zero_b ? torch::zeros({w.size(0), r}) : torch::randn({w.size(0), r}) * 0.3, alpha / r};
    }
  }
  return a;
}

ClassifyRequest request(const std::string& adapter = "") {
  ClassifyRequest r{"The striker scored twice in the derby and the crowd sang.", {"sports", "politics", "music"}};
  r.adapter_id = adapter;
  return r;
}

// Per logit the smaller of the absolute and the relative difference; the worst.
double max_logit_diff(const ClassifyResult& a, const ClassifyResult& b) {
  double d = 0;
  for (size_t k = 0; k < a.logits.size(); ++k) {
    const double abs = std::abs(double(a.logits[k]) - b.logits[k]);
    d = std::max(d, std::min(abs, abs / std::max(std::abs(double(a.logits[k])), std::abs(double(b.logits[k])))));
  }
  return d;
}

}  // namespace

TEST(Lora, MergedAndUnmergedGiveTheSameLogitsUnderEitherNaming) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto base = Classifier::load(base_dir().string()).classify(request());
  for (bool model_names : {false, true}) {
    TempDir dir("lora");
    io::write_peft_adapter(dir.path, random_adapter(4, 8, false, model_names, 7));
    ClassifierOptions unmerged_opts;
    unmerged_opts.adapters = {{"a", dir.path.string()}};
    ClassifierOptions merged_opts;
    merged_opts.merged_adapter = dir.path.string();
    const auto unmerged = Classifier::load(base_dir().string(), unmerged_opts).classify(request("a"));
    const auto merged = Classifier::load(base_dir().string(), merged_opts).classify(request());
    EXPECT_LE(max_logit_diff(unmerged, merged), 1e-5) << (model_names ? "model names" : "encoder paths");
    EXPECT_GT(max_logit_diff(unmerged, base), 1e-3) << "the adapter changed nothing";
  }
}

TEST(Lora, AnAdapterWithBZeroLeavesLogitsUnchanged) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir dir("lora_zero");
  io::write_peft_adapter(dir.path, random_adapter(8, 16, true, false, 3));
  ClassifierOptions o;
  o.adapters = {{"zero", dir.path.string()}};
  const auto clf = Classifier::load(base_dir().string(), o);
  EXPECT_LE(max_logit_diff(clf.classify(request("zero")), clf.classify(request())), 1e-6);
}

TEST(Lora, SeveralAdaptersOverOneBaseEachScoreTheirOwnRequests) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir d1("lora1"), d2("lora2");
  io::write_peft_adapter(d1.path, random_adapter(4, 8, false, false, 11));
  io::write_peft_adapter(d2.path, random_adapter(2, 4, false, true, 12));
  ClassifierOptions o;
  o.adapters = {{"one", d1.path.string()}, {"two", d2.path.string()}};
  o.batch_size = 8;
  const auto clf = Classifier::load(base_dir().string(), o);
  EXPECT_EQ(clf.adapter_ids(), (std::vector<std::string>{"one", "two"}));
  // Mixed in one call: each request gets its adapter's logits alone.
  const auto mixed = clf.classify({request("two"), request(), request("one"), request("__base__")});
  const std::vector<std::tuple<int, std::string, fs::path>> checks{{0, "two", d2.path}, {2, "one", d1.path}};
  for (const auto& [i, id, dir] : checks) {
    ClassifierOptions m;
    m.merged_adapter = dir.string();
    EXPECT_LE(max_logit_diff(mixed[i], Classifier::load(base_dir().string(), m).classify(request())), 1e-5) << id;
  }
  const auto base = Classifier::load(base_dir().string()).classify(request());
  EXPECT_LE(max_logit_diff(mixed[1], base), 1e-6);
  EXPECT_LE(max_logit_diff(mixed[3], base), 1e-6);
  EXPECT_THROW(clf.classify(request("three")), InputError);
}

TEST(Lora, BrokenAdaptersAreNamed) {
  GLICLASS_REQUIRE_GOLDEN();
  auto load_error = [](const fs::path& dir) {
    ClassifierOptions o;
    o.adapters = {{"x", dir.string()}};
    return gliclass::testing::model_error_of([&] { Classifier::load(base_dir().string(), o); });
  };
  TempDir missing("lora_missing");
  EXPECT_TRUE(gliclass::testing::contains(load_error(missing.path / "nope"), "not a directory"));

  TempDir unknown("lora_unknown");
  auto a = random_adapter(2, 2, false, false, 1);
  a.layers["encoder.layer.0.attention.self.no_such_proj"] = a.layers.begin()->second;
  io::write_peft_adapter(unknown.path, a);
  EXPECT_TRUE(gliclass::testing::contains(load_error(unknown.path), "no_such_proj")) << load_error(unknown.path);

  TempDir shape("lora_shape");
  auto b = random_adapter(2, 2, false, false, 1);
  b.layers.begin()->second.A = torch::randn({2, 5});
  io::write_peft_adapter(shape.path, b);
  EXPECT_TRUE(gliclass::testing::contains(load_error(shape.path), "lora_A")) << load_error(shape.path);

  TempDir dora("lora_dora");
  io::write_peft_adapter(dora.path, random_adapter(2, 2, false, false, 1));
  std::ofstream(dora.path / "adapter_config.json") << R"({"peft_type": "IA3"})";
  EXPECT_TRUE(gliclass::testing::contains(load_error(dora.path), "IA3")) << load_error(dora.path);
}

TEST(Lora, PatternsNameAModuleOrAPathSuffixAtADot) {
  io::LoraConfig c;
  c.r = 4;
  c.lora_alpha = 8;
  c.rank_pattern = {{"query_proj", 8}, {"layer.1.attention.self.key_proj", 2}};
  c.alpha_pattern = {{"key_proj", 4.0}};
  EXPECT_EQ(c.rank("encoder.layer.0.attention.self.query_proj"), 8);
  EXPECT_EQ(c.rank("encoder.layer.1.attention.self.key_proj"), 2);
  EXPECT_EQ(c.rank("encoder.layer.0.attention.self.key_proj"), 4);
  EXPECT_EQ(c.rank("encoder.layer.0.attention.self.xquery_proj"), 4);  // a suffix, not at a dot
  EXPECT_EQ(c.rank("query_proj"), 8);                                  // the whole path
  EXPECT_DOUBLE_EQ(c.scale("encoder.layer.1.attention.self.key_proj", 2), 4.0 / 2);
  EXPECT_DOUBLE_EQ(c.scale("encoder.layer.0.attention.self.query_proj", 8), 8.0 / 8);
}

TEST(Lora, ReadsWhatItWritesWithPeftNames) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir dir("lora_rw");
  auto a = random_adapter(3, 6, false, false, 5);
  a.config.use_rslora = true;
  a.config.alpha_pattern = {{"value_proj", 12.0}};
  io::write_peft_adapter(dir.path, a);
  const auto b = io::read_peft_adapter(dir.path);
  ASSERT_EQ(b.layers.size(), a.layers.size());
  for (const auto& [path, layer] : b.layers) {
    EXPECT_TRUE(torch::equal(layer.A, a.layers.at(path).A)) << path;
    // rsLoRA: s = alpha / sqrt(r), alpha from alpha_pattern where it names the layer.
    const double alpha = path.find("value_proj") != std::string::npos ? 12.0 : 6.0;
    EXPECT_NEAR(layer.scale, alpha / std::sqrt(3.0), 1e-12) << path;
  }
  const auto names = io::open_safetensors(dir.path / "adapter_model.safetensors")->names();
  for (const auto& n : names) EXPECT_EQ(n.rfind("base_model.model.encoder.layer.", 0), 0u) << n;
}

TEST(Lora, TrainedAdapterReloadsToTheLogitsTheTrainerEvaluated) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir dir("lora_train");
  const std::string data =
      R"({"text": "The striker scored twice in the derby.", "all_labels": ["sports", "politics", "music"], "true_labels": ["sports"]}
{"text": "A new tax bill was debated in parliament.", "all_labels": ["politics", "economy", "sports"], "true_labels": ["politics", "economy"]}
{"text": "The band released a surprise album at midnight.", "all_labels": ["music", "sports"], "true_labels": ["music"]}
{"text": "Stocks fell sharply after the rate decision.", "all_labels": ["economy", "music", "politics"], "true_labels": ["economy"]}
)";
  dir.write("train.jsonl", data);
  train::TrainOptions o;
  o.model_dir = base_dir();
  o.train_file = dir.path / "train.jsonl";
  o.dev_file = dir.path / "train.jsonl";
  o.out_dir = dir.path / "out";
  o.max_steps = 4;
  o.batch_size = 2;
  o.optimizer.encoder_lr = 5e-2;
  o.optimizer.others_lr = 1e-2;
  o.warmup_steps = 0;
  o.augment = train::AugmentOptions::none();
  o.augment.shuffle_labels = false;
  o.eval_steps = 4;
  o.quiet = true;
  io::LoraConfig lora;
  lora.r = 4;
  lora.lora_alpha = 8;
  lora.target_modules = {"query_proj", "value_proj"};
  o.lora = lora;
  const auto summary = train::run_training(o);
  ASSERT_TRUE(summary.last_eval);

  const fs::path last = o.out_dir / "last";
  const auto saved = io::read_peft_adapter(last);
  EXPECT_FALSE(saved.layers.empty());
  double b_norm = 0;
  for (const auto& [path, layer] : saved.layers) b_norm += layer.B.norm().item<double>();
  EXPECT_GT(b_norm, 0) << "B stayed zero: the adapter did not train";
  // Only adapters and heads are in the directory; the encoder's own weights are not.
  for (const auto& [path, t] : saved.replaced) EXPECT_EQ(path.find("encoder_model"), std::string::npos) << path;

  ClassifierOptions copts;
  copts.adapters = {{"trained", last.string()}};
  copts.max_length = static_cast<int64_t>(o.max_length);
  const auto clf = Classifier::load(base_dir().string(), copts);
  auto classify = [&](std::vector<ClassifyRequest> requests) {
    for (auto& r : requests) r.adapter_id = "trained";
    return clf.classify(requests);
  };
  const auto dev = train::load_examples(o.dev_file);
  const auto report = train::evaluate(train::score_examples(dev, classify, false, 64), o.threshold, false);
  EXPECT_NEAR(report.micro_f1, summary.last_eval->micro_f1, 1e-9);
  EXPECT_NEAR(report.best_micro_f1, summary.last_eval->best_micro_f1, 1e-9);
  EXPECT_NEAR(report.best_threshold, summary.last_eval->best_threshold, 1e-5);
}

TEST(Lora, CliMergesAnAdapterIntoACheckpointAndClassifiesWithOne) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir dir("lora_cli");
  io::write_peft_adapter(dir.path / "adapter", random_adapter(4, 8, false, false, 21));
  const std::string cli = GLICLASS_CLI_PATH;
  const std::string merge = cli + " merge-adapter --model " + base_dir().string() + " --adapter " +
                            (dir.path / "adapter").string() + " --out " + (dir.path / "merged").string() +
                            " > /dev/null 2>&1";
  ASSERT_EQ(std::system(merge.c_str()), 0) << merge;
  ClassifierOptions unmerged_opts;
  unmerged_opts.adapters = {{"a", (dir.path / "adapter").string()}};
  const auto want = Classifier::load(base_dir().string(), unmerged_opts).classify(request("a"));
  const auto merged = Classifier::load((dir.path / "merged").string()).classify(request());
  // W + s B A rounded once against s (x A^T) B^T added per call: float32
  // roundings, carried through every layer (a wrong merge moves logits by > 1e-3).
  EXPECT_LE(max_logit_diff(merged, want), 3e-5);

  // classify --adapter DIR: every text runs with it.
  const std::string classify = cli + " classify --model " + base_dir().string() + " --adapter " +
                               (dir.path / "adapter").string() + " --labels sports,politics,music --logits '" +
                               request().text + "' 2>/dev/null";
  FILE* p = popen(classify.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << out;
  const auto line = nlohmann::json::parse(out);
  for (size_t k = 0; k < want.labels.size(); ++k)
    EXPECT_NEAR(line["logits"][want.labels[k]].get<double>(), want.logits[k], 1e-5) << want.labels[k];
}
