// `gliclass eval` and `gliclass train` from the command line: exit codes, the
// JSON last line, and eval's numbers equal to scoring with the library.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "gliclass/classifier.h"
#include "test_util.h"
#include "train/data.h"
#include "train/metrics.h"
#include "train/scoring.h"

namespace fs = std::filesystem;
using gliclass::testing::golden_dir;

namespace {

struct Run {
  int exit_code = -1;
  std::string out;
  nlohmann::json last;  // the last stdout line, parsed
};

Run run(const std::string& args) {
  const std::string cmd = std::string(GLICLASS_CLI_PATH) + " " + args + " 2>/dev/null";
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream lines(r.out);
  std::string line, last;
  while (std::getline(lines, line))
    if (!line.empty()) last = line;
  if (!last.empty()) r.last = nlohmann::json::parse(last, nullptr, false);
  return r;
}

const char* kData =
    R"({"text": "The striker scored twice in the derby.", "all_labels": ["sports", "politics", "music"], "true_labels": ["sports"]}
{"text": "A new tax bill was debated in parliament.", "all_labels": ["politics", "economy"], "true_labels": ["politics", "economy"]}
{"text": "The band released a surprise album.", "all_labels": ["music", "sports"], "true_labels": ["music"]}
{"text": "Stocks fell after the rate decision.", "all_labels": ["economy", "music", "politics"], "true_labels": {"economy": 1.0}}
)";

struct Files {
  fs::path dir = fs::temp_directory_path() / ("gliclass-train-cli-" + std::to_string(::getpid()));
  fs::path data = dir / "data.jsonl";
  Files() {
    fs::create_directories(dir);
    std::ofstream(data) << kData;
  }
  ~Files() { fs::remove_all(dir); }
};

const fs::path kModel = golden_dir() / "deberta_first_simple_pf";

}  // namespace

TEST(TrainCli, EvalJsonMatchesTheLibrary) {
  GLICLASS_REQUIRE_GOLDEN();
  Files f;
  auto r = run("eval --model " + kModel.string() + " --data " + f.data.string() + " --threshold 0.3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(r.last.is_object()) << r.out;
  for (const char* key : {"micro_f1", "macro_f1", "precision", "recall", "examples", "best_threshold", "per_label"})
    EXPECT_TRUE(r.last.contains(key)) << key;
  EXPECT_EQ(r.last["examples"].get<int>(), 4);
  EXPECT_EQ(r.last["decisions"].get<int>(), 10);

  // The same numbers from the public Classifier in this process.
  auto examples = gliclass::train::load_examples(f.data);
  auto clf = gliclass::Classifier::load(kModel.string());
  gliclass::ClassifyOptions opts;
  opts.threshold = 0.3f;
  auto scored = gliclass::train::score_examples(
      examples, [&](const auto& reqs) { return clf.classify(reqs, opts); }, false);
  auto report = gliclass::train::evaluate(scored, 0.3, false);
  EXPECT_NEAR(r.last["micro_f1"].get<double>(), report.micro_f1, 1e-12);
  EXPECT_NEAR(r.last["macro_f1"].get<double>(), report.macro_f1, 1e-12);
  EXPECT_NEAR(r.last["precision"].get<double>(), report.micro_precision, 1e-12);
  EXPECT_NEAR(r.last["recall"].get<double>(), report.micro_recall, 1e-12);
}

TEST(TrainCli, EvalReportsBadDataByLine) {
  GLICLASS_REQUIRE_GOLDEN();
  Files f;
  std::ofstream(f.data, std::ios::app) << R"({"text": "x", "all_labels": "sports", "true_labels": []})" << "\n";
  auto r = run("eval --model " + kModel.string() + " --data " + f.data.string() + " --json");
  EXPECT_EQ(r.exit_code, 1);
}

TEST(TrainCli, TrainWritesACheckpointTheEvalCommandReads) {
  GLICLASS_REQUIRE_GOLDEN();
  Files f;
  const fs::path out = f.dir / "out";
  auto r = run("train --model " + kModel.string() + " --data " + f.data.string() + " --dev " + f.data.string() +
               " --out " + out.string() + " --max-steps 2 --batch-size 2 --others-lr 1e-3 --seed 3 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  ASSERT_TRUE(r.last.is_object()) << r.out;
  EXPECT_EQ(r.last["steps"].get<int>(), 2);
  EXPECT_TRUE(r.last["finished"].get<bool>());
  EXPECT_TRUE(r.last.contains("best_dev_micro_f1"));
  for (const char* file : {"config.json", "model.safetensors", "spm.model", "added_tokens.json", "trainer_state.json",
                           "optimizer.safetensors"})
    EXPECT_TRUE(fs::exists(out / "last" / file)) << file;
  EXPECT_TRUE(fs::exists(out / "metrics.jsonl"));
  auto e = run("eval --model " + (out / "best").string() + " --data " + f.data.string() + " --json");
  ASSERT_EQ(e.exit_code, 0) << e.out;
  EXPECT_NEAR(e.last["micro_f1"].get<double>(), r.last["best_dev_micro_f1"].get<double>(), 1e-9);
}
