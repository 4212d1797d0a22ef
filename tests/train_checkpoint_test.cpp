// Checkpoints: what is saved loads back (public Classifier) with identical
// logits under the reference's tensor names; writes are atomic; an interrupted
// and resumed run ends with the same weights as an uninterrupted one.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "gliclass/classifier.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "pipeline/uni_encoder_pipeline.h"
#include "test_util.h"
#include "tokenize/tokenizer.h"
#include "train/batch.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/optimizer.h"
#include "train/trainer.h"
#include "weights_util.h"

using namespace gliclass;
using namespace gliclass::train;
namespace fs = std::filesystem;
using gliclass::testing::max_diff;
using gliclass::testing::read_all;
using gliclass::testing::TempDir;

namespace {

const char* kCase = "deberta_first_simple_pf";

const char* kTrainData =
    R"({"text": "The striker scored twice in the derby.", "all_labels": ["sports", "politics", "music"], "true_labels": ["sports"]}
{"text": "A new tax bill was debated in parliament.", "all_labels": ["politics", "economy", "sports"], "true_labels": ["politics", "economy"]}
{"text": "The band released a surprise album at midnight.", "all_labels": ["music", "sports"], "true_labels": ["music"]}
{"text": "Stocks fell sharply after the rate decision.", "all_labels": ["economy", "music", "politics"], "true_labels": {"economy": 1.0}}
{"text": "The coach was fired after five straight losses.", "all_labels": ["sports", "economy"], "true_labels": ["sports"]}
{"text": "Voters head to the polls on Sunday.", "all_labels": ["politics", "music"], "true_labels": ["politics"], "prompt": "Classify the news:"}
{"text": "The orchestra tours Asia next spring.", "all_labels": ["music", "politics", "economy"], "true_labels": ["music"]}
)";

std::vector<ClassifyRequest> requests() {
  return {{"The final whistle blew and the fans cheered.", {"sports", "politics", "weather"}},
          {"Inflation slowed in March.", {"economy", "sports"}, "Topic:"}};
}

TrainOptions tiny_run(const fs::path& data, const fs::path& out) {
  TrainOptions o;
  o.model_dir = gliclass::testing::golden_dir() / kCase;
  o.train_file = data;
  o.dev_file = data;
  o.out_dir = out;
  o.epochs = 2;
  o.batch_size = 2;
  o.grad_accum = 2;  // 4 micro-batches an epoch -> 2 steps an epoch, 4 in all
  o.seed = 1234;
  o.max_length = 128;
  o.optimizer.encoder_lr = 1e-3;
  o.optimizer.others_lr = 3e-3;
  o.warmup_steps = 1;
  o.augment.add_text = 0.5;  // exercise the generators
  o.augment.examples = 0.5;
  o.eval_steps = 1;
  o.save_steps = 0;
  o.log_steps = 1;
  o.quiet = true;
  return o;
}

}  // namespace

TEST(TrainCheckpoint, SavedModelLoadsWithIdenticalLogitsAndReferenceNames) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto src = gliclass::testing::golden_dir() / kCase;
  const auto config = io::GLiClassConfig::from_file(src / "config.json");
  std::shared_ptr<const tokenize::Tokenizer> tokenizer = tokenize::Tokenizer::from_dir(src);
  auto model = load_trainable_model(src, config);

  // One step so the weights are no longer the golden ones.
  auto examples = parse_examples(kTrainData, "t");
  auto batch = make_batch(examples, *tokenizer, config, 128, false, 0);
  AdamW opt(parameter_groups(*model, {}), {});
  model_loss(model->forward(batch.input), batch.targets, {}).backward();
  opt.step(100.0);

  TempDir tmp("gliclass-train-save");
  const fs::path out = tmp.path / "ckpt";
  write_dir_atomically(out, [&](const fs::path& d) { write_model_files(d, *model, config, src); });
  // Nothing left beside it.
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(tmp.path)) entries += e.path() == out ? 0 : 1;
  EXPECT_EQ(entries, 0u);

  // The reference's names, exactly.
  std::set<std::string> saved, golden;
  for (const auto& [n, t] : read_all(out / "model.safetensors")) saved.insert(n);
  for (const auto& [n, t] : read_all(src / "model.safetensors")) golden.insert(n);
  EXPECT_EQ(saved, golden);
  EXPECT_GT(max_diff(read_all(out / "model.safetensors"), read_all(src / "model.safetensors")), 0.0);

  model->eval();
  pipeline::UniEncoderPipeline in_memory({{}, tokenizer, model, config, {}, {}});
  auto expected = in_memory.run(requests(), {});
  auto loaded = Classifier::load(out.string()).classify(requests());
  ASSERT_EQ(loaded.size(), expected.size());
  double worst = 0;
  for (size_t i = 0; i < loaded.size(); ++i) {
    ASSERT_EQ(loaded[i].logits.size(), expected[i].logits.size());
    for (size_t k = 0; k < loaded[i].logits.size(); ++k)
      worst = std::max(worst, static_cast<double>(std::abs(loaded[i].logits[k] - expected[i].logits[k])));
  }
  EXPECT_EQ(worst, 0.0) << "max |logit difference| after save -> load";

  // Saving again over it replaces it whole.
  write_dir_atomically(out, [&](const fs::path& d) { write_model_files(d, *model, config, src); });
  EXPECT_TRUE(fs::exists(out / "config.json"));
  EXPECT_FALSE(fs::exists(fs::path(out.string() + ".old")));
}

TEST(TrainCheckpoint, ResumedRunEndsWhereAnUninterruptedOneDoes) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir tmp("gliclass-train-resume");
  const fs::path data = tmp.path / "train.jsonl";
  std::ofstream(data) << kTrainData;

  auto whole = run_training(tiny_run(data, tmp.path / "whole"));
  EXPECT_TRUE(whole.finished);
  EXPECT_EQ(whole.steps, 4);

  auto first = tiny_run(data, tmp.path / "split");
  first.stop_at_step = 3;  // stops mid-epoch, between accumulation groups
  auto part = run_training(first);
  EXPECT_FALSE(part.finished);
  EXPECT_EQ(part.steps, 3);
  auto second = tiny_run(data, tmp.path / "split");
  second.resume = true;
  auto rest = run_training(second);
  EXPECT_TRUE(rest.finished);
  EXPECT_EQ(rest.steps, 4);

  const double weights = max_diff(read_all(tmp.path / "whole/last/model.safetensors"),
                                  read_all(tmp.path / "split/last/model.safetensors"));
  const double moments = max_diff(read_all(tmp.path / "whole/last/optimizer.safetensors"),
                                  read_all(tmp.path / "split/last/optimizer.safetensors"));
  EXPECT_LE(weights, 1e-7) << "max |weight difference|";
  EXPECT_LE(moments, 1e-7) << "max |optimizer state difference|";
  // Training moved the weights at all.
  EXPECT_GT(max_diff(read_all(tmp.path / "whole/last/model.safetensors"),
                     read_all(gliclass::testing::golden_dir() / kCase / "model.safetensors")),
            1e-4);

  // Same metrics log (4 train lines, 4 evals) and the same best step.
  EXPECT_EQ(whole.best_step, rest.best_step);
  auto count_lines = [](const fs::path& f) {
    std::ifstream in(f);
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) n += line.empty() ? 0 : 1;
    return n;
  };
  EXPECT_EQ(count_lines(tmp.path / "whole/metrics.jsonl"), 8u);
  EXPECT_EQ(count_lines(tmp.path / "split/metrics.jsonl"), 8u);
  EXPECT_TRUE(fs::exists(tmp.path / "whole/best/model.safetensors"));
  EXPECT_TRUE(fs::exists(tmp.path / "whole/last/trainer_state.json"));
  // The checkpoint is a model directory the public API loads.
  EXPECT_NO_THROW(Classifier::load((tmp.path / "whole/last").string()).classify(requests()));
}

TEST(TrainCheckpoint, ResumeRefusesAnotherSetup) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir tmp("gliclass-train-refuse");
  const fs::path data = tmp.path / "train.jsonl";
  std::ofstream(data) << kTrainData;
  auto o = tiny_run(data, tmp.path / "run");
  o.stop_at_step = 1;
  o.dev_file.clear();
  run_training(o);
  o.resume = true;
  o.stop_at_step = 0;
  o.batch_size = 3;
  EXPECT_THROW(run_training(o), InputError);
}
