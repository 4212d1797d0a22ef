// Data-parallel training: `gliclass train --nproc 2` (two Gloo workers on
// loopback) ends with the weights of one process with twice the batch; the
// loss split into per-worker sums equals the whole batch's loss; the
// torchrun environment is read and checked.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "gliclass/error.h"
#include "test_util.h"
#include "train/distributed.h"
#include "train/losses.h"
#include "weights_util.h"

using namespace gliclass::train;
namespace fs = std::filesystem;
using gliclass::testing::TempDir;

namespace {

// Ten examples: with 4 per micro-batch the epoch's last micro-batch has 2, so
// the second worker's slice of it is empty.
const char* kData =
    R"({"text": "The striker scored twice in the derby.", "all_labels": ["sports", "politics", "music"], "true_labels": ["sports"]}
{"text": "A new tax bill was debated in parliament.", "all_labels": ["politics", "economy", "sports"], "true_labels": ["politics", "economy"]}
{"text": "The band released a surprise album at midnight.", "all_labels": ["music", "sports"], "true_labels": ["music"]}
{"text": "Stocks fell sharply after the rate decision.", "all_labels": ["economy", "music", "politics", "weather"], "true_labels": ["economy"]}
{"text": "The coach was fired after five straight losses.", "all_labels": ["sports", "economy"], "true_labels": ["sports"]}
{"text": "Voters head to the polls on Sunday.", "all_labels": ["politics", "music"], "true_labels": ["politics"], "prompt": "Classify the news:"}
{"text": "The orchestra tours Asia next spring.", "all_labels": ["music", "politics", "economy"], "true_labels": ["music"]}
{"text": "Heavy rain is expected over the weekend, with floods in the valleys.", "all_labels": ["weather", "sports"], "true_labels": ["weather"]}
{"text": "The central bank held rates.", "all_labels": ["economy", "weather", "music", "sports", "politics"], "true_labels": ["economy", "politics"]}
{"text": "A heatwave broke records.", "all_labels": ["weather"], "true_labels": ["weather"]}
)";

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Run run_cli(const std::string& args) {
  const std::string cmd = std::string(GLICLASS_CLI_PATH) + " " + args + " 2>&1";
  Run r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The golden tiny checkpoint with every dropout off (dropout masks are per
// worker, so only a dropout-free model trains identically on any split).
void copy_without_dropout(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) fs::copy_file(e.path(), to / e.path().filename());
  auto config = gliclass::testing::read_json(from / "config.json");
  for (auto* c : {&config, &config["encoder_config"]})
    for (auto& [key, value] : c->items())
      if (key.find("dropout") != std::string::npos && value.is_number()) value = 0.0;
  std::ofstream(to / "config.json", std::ios::trunc) << config.dump(2);
}

struct ScopedEnv {
  std::vector<std::string> names;
  void set(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    names.push_back(name);
  }
  ~ScopedEnv() {
    for (const auto& n : names) ::unsetenv(n.c_str());
  }
};

}  // namespace

TEST(TrainDistributed, TwoGlooWorkersTrainLikeOneProcessWithTheDoubledBatch) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir tmp("train-distributed");
  const fs::path model = tmp.path / "model";
  copy_without_dropout(gliclass::testing::golden_dir() / "deberta_first_simple_pf", model);
  tmp.write("train.jsonl", kData);
  const std::string common = "train --model " + model.string() + " --data " + (tmp.path / "train.jsonl").string() +
                             " --epochs 2 --grad-accum 2 --seed 5 --max-length 128 --encoder-lr 1e-3"
                             " --others-lr 3e-3 --warmup-steps 1 --aug-add-text 0.5 --aug-add-labels 0.5"
                             " --log-steps 1 --save-steps 0 --threads 1 --quiet";

  const auto one_run = run_cli(common + " --batch-size 4 --out " + (tmp.path / "one").string());
  ASSERT_EQ(one_run.exit_code, 0) << one_run.output;
  const auto two_run = run_cli(common + " --batch-size 2 --nproc 2 --out " + (tmp.path / "two").string());
  ASSERT_EQ(two_run.exit_code, 0) << two_run.output;
  // One JSON summary (rank 0's), like a single process.
  EXPECT_EQ(std::count(two_run.output.begin(), two_run.output.end(), '\n'), 1) << two_run.output;

  using gliclass::testing::max_diff;
  using gliclass::testing::read_all;
  const auto one = read_all(tmp.path / "one/last/model.safetensors");
  EXPECT_LE(max_diff(one, read_all(tmp.path / "two/last/model.safetensors")), 1e-5) << "max |weight difference|";
  EXPECT_LE(max_diff(read_all(tmp.path / "one/last/optimizer.safetensors"),
                     read_all(tmp.path / "two/last/optimizer.safetensors")),
            1e-5)
      << "max |AdamW moment difference|";
  // The runs trained at all: the weights moved.
  EXPECT_GT(max_diff(one, read_all(model / "model.safetensors")), 1e-4);

  const auto state = gliclass::testing::read_json(tmp.path / "two/last/trainer_state.json");
  EXPECT_EQ(state["world_size"], 2);
  EXPECT_EQ(state["global_step"], 4);  // 3 micro-batches of 4 an epoch, 2 per step, 2 epochs
  EXPECT_EQ(state["examples_seen"], 20);

  // The per-step losses rank 0 logged are the whole micro-batches' losses.
  std::ifstream a(tmp.path / "one/metrics.jsonl"), b(tmp.path / "two/metrics.jsonl");
  std::string la, lb;
  int lines = 0;
  while (std::getline(a, la) && std::getline(b, lb)) {
    const auto ja = nlohmann::json::parse(la), jb = nlohmann::json::parse(lb);
    EXPECT_NEAR(ja["loss"].get<double>(), jb["loss"].get<double>(), 1e-5) << la << "\n" << lb;
    ++lines;
  }
  EXPECT_EQ(lines, 4);

  // Resuming with another number of workers is refused.
  const auto resumed = run_cli(common + " --batch-size 2 --resume --out " + (tmp.path / "two").string());
  EXPECT_NE(resumed.exit_code, 0);
  EXPECT_TRUE(gliclass::testing::contains(resumed.output, "number of data-parallel workers")) << resumed.output;
}

TEST(TrainDistributed, AFailingWorkerFailsTheLaunch) {
  GLICLASS_REQUIRE_GOLDEN();
  TempDir tmp("train-distributed-fail");
  const auto r = run_cli("train --model " + (gliclass::testing::golden_dir() / "deberta_first_simple_pf").string() +
                         " --data " + (tmp.path / "missing.jsonl").string() + " --out " +
                         (tmp.path / "out").string() + " --nproc 2 --quiet");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_TRUE(gliclass::testing::contains(r.output, "missing.jsonl")) << r.output;
}

TEST(TrainDistributed, WorkerLossSumsOverGlobalCountsEqualTheWholeBatchLoss) {
  torch::manual_seed(3);
  gliclass::model::ModelOutput whole;
  whole.logits = torch::randn({4, 3});
  whole.class_embeddings = torch::randn({4, 3, 5});
  BatchTargets t;
  t.targets = torch::tensor({1.f, 0.f, 0.f, 0.f, 1.f, 1.f, 1.f, 0.f, 0.f, 0.f, 0.f, 1.f}).reshape({4, 3});
  t.mask = torch::tensor({1.f, 1.f, 0.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 1.f, 0.f, 1.f}).reshape({4, 3});
  t.index = torch::tensor(std::vector<int64_t>{0, 1, 0, 2});

  auto half = [&](int64_t begin) {
    gliclass::model::ModelOutput out;
    out.logits = whole.logits.narrow(0, begin, 2);
    out.class_embeddings = whole.class_embeddings.narrow(0, begin, 2);
    BatchTargets h{t.targets.narrow(0, begin, 2), t.index.narrow(0, begin, 2), t.mask.narrow(0, begin, 2)};
    return std::pair{out, h};
  };
  for (bool single : {false, true})
    for (auto reduction : {Reduction::kMean, Reduction::kSum, Reduction::kNone}) {
      LossOptions o;
      o.single_label = single;
      o.focal.reduction = reduction;
      o.focal.gamma = 2;
      o.contrastive_coef = 0.3;
      const auto [out0, t0] = half(0);
      const auto [out1, t1] = half(2);
      const auto p0 = model_loss_parts(out0, t0, o), p1 = model_loss_parts(out1, t1, o);
      const double main_count = p0.main.count + p1.main.count;
      const double contrastive_count = p0.contrastive->count + p1.contrastive->count;
      const double split = (p0.combine(main_count, contrastive_count) + p1.combine(main_count, contrastive_count))
                               .item<double>();
      EXPECT_NEAR(split, model_loss(whole, t, o).item<double>(), 1e-5)
          << "single_label " << single << " reduction " << reduction_name(reduction);
    }
}

TEST(TrainDistributed, TheTorchrunEnvironmentIsReadAndChecked) {
  ::unsetenv("WORLD_SIZE");
  EXPECT_FALSE(world_from_environment().has_value());

  ScopedEnv env;
  env.set("WORLD_SIZE", "4");
  env.set("RANK", "2");
  env.set("MASTER_ADDR", "10.0.0.7");
  env.set("MASTER_PORT", "29501");
  env.set("LOCAL_WORLD_SIZE", "2");
  const auto w = world_from_environment();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->size, 4);
  EXPECT_EQ(w->rank, 2);
  EXPECT_EQ(w->master_addr, "10.0.0.7");
  EXPECT_EQ(w->master_port, 29501);
  EXPECT_EQ(w->local_size, 2);

  auto message = [] {
    try {
      world_from_environment();
    } catch (const gliclass::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  env.set("RANK", "4");
  EXPECT_TRUE(gliclass::testing::contains(message(), "RANK=\"4\"")) << message();
  env.set("RANK", "1");
  env.set("MASTER_PORT", "http");
  EXPECT_TRUE(gliclass::testing::contains(message(), "MASTER_PORT")) << message();
  env.set("MASTER_PORT", "29501");
  ::unsetenv("MASTER_ADDR");
  EXPECT_TRUE(gliclass::testing::contains(message(), "MASTER_ADDR")) << message();
}
