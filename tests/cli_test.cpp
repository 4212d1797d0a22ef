// The `gliclass classify` contract: JSONL out in input order, bad lines
// reported in place, exit code 2 when any line failed.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "gliclass/gliclass.h"
#include "test_util.h"

using gliclass::testing::golden_dir;

namespace {

// A temp file name no other test process uses at the same time.
std::filesystem::path unique_temp_path(const std::string& suffix) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::filesystem::temp_directory_path() /
         ("gliclass_cli_" + std::string(test->name()) + "_" + std::to_string(getpid()) + "_" + suffix);
}

struct RunResult {
  int exit_code = -1;
  std::vector<nlohmann::json> lines;
  std::string raw;
};

// Runs `gliclass <command>`, feeding `stdin_text`, and parses stdout as JSONL.
// `env` prefixes the command (e.g. "GLICLASS_MODEL=dir").
RunResult run_gliclass(const std::string& command, const std::string& stdin_text = "", const std::string& env = "") {
  // One file per test: ctest runs tests in parallel processes.
  auto in_file = unique_temp_path("stdin.txt");
  std::ofstream(in_file, std::ios::binary) << stdin_text;
  const std::string cmd = "env -u GLICLASS_MODEL " + env + " " + std::string(GLICLASS_CLI_PATH) + " " + command +
                          " < " + in_file.string() + " 2>/dev/null";
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.raw.append(buf, n);
  int status = pclose(p);
  std::filesystem::remove(in_file);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream lines(r.raw);
  std::string line;
  while (std::getline(lines, line))
    if (!line.empty()) r.lines.push_back(nlohmann::json::parse(line));
  return r;
}

// `gliclass classify <args>`.
RunResult run_cli(const std::string& args, const std::string& stdin_text = "", const std::string& env = "") {
  return run_gliclass("classify " + args, stdin_text, env);
}

std::string model_arg() { return "--model " + (golden_dir() / "deberta_first_simple_pf").string(); }

}  // namespace

TEST(Cli, TextsFromArgumentsGiveOneObjectEach) {
  GLICLASS_REQUIRE_GOLDEN();
  auto r = run_cli(model_arg() + " --labels 'sports, politics,tech' --all-scores --logits 'A text.' 'Another.'");
  ASSERT_EQ(r.exit_code, 0) << r.raw;
  ASSERT_EQ(r.lines.size(), 2u);
  for (const auto& j : r.lines) {
    ASSERT_TRUE(j.contains("predictions"));
    EXPECT_EQ(j["scores"].size(), 3u);
    EXPECT_EQ(j["logits"].size(), 3u);
    EXPECT_TRUE(j["scores"].contains("politics"));
    EXPECT_FALSE(j["truncated"].get<bool>());
  }
}

TEST(Cli, BadJsonlLineIsReportedInPlaceAndTheRestRun) {
  GLICLASS_REQUIRE_GOLDEN();
  const std::string input =
      "{\"id\": 7, \"text\": \"first\", \"labels\": [\"a\", \"b\"]}\n"
      "{\"id\": 8, \"text\": \n"
      "{\"id\": \"x\", \"text\": \"third\", \"labels\": []}\n"
      "{\"text\": \"bad utf8 \xff\", \"labels\": [\"a\"]}\n"
      "{\"id\": 9, \"text\": \"last\", \"prompt\": \"Classify:\", \"threshold\": 0.0,"
      " \"examples\": [{\"text\": \"ex\", \"labels\": [\"b\"]}]}\n";
  auto r = run_cli(model_arg() + " --labels a,b,c --input - --format jsonl", input);
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(r.lines.size(), 5u) << r.raw;
  EXPECT_EQ(r.lines[0]["id"], 7);
  EXPECT_EQ(r.lines[0].contains("error"), false);
  EXPECT_EQ(r.lines[1]["line"], 2);
  EXPECT_NE(r.lines[1]["error"].get<std::string>().find("JSON"), std::string::npos);
  EXPECT_EQ(r.lines[2]["id"], "x");
  EXPECT_NE(r.lines[2]["error"].get<std::string>().find("label list is empty"), std::string::npos);
  EXPECT_NE(r.lines[3]["error"].get<std::string>().find("UTF-8"), std::string::npos);
  EXPECT_EQ(r.lines[4]["id"], 9);
  EXPECT_EQ(r.lines[4]["predictions"].size(), 3u);  // threshold 0 keeps every shared label
}

TEST(Cli, TextOverTheByteLimitIsReportedInPlace) {
  GLICLASS_REQUIRE_GOLDEN();
  const std::string input = "{\"id\": 1, \"text\": \"" + std::string(40, 'x') + "\"}\n{\"id\": 2, \"text\": \"short\"}\n";
  auto r = run_cli(model_arg() + " --labels a,b --max-text-bytes 32 --input - --format jsonl", input);
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(r.lines.size(), 2u) << r.raw;
  EXPECT_NE(r.lines[0]["error"].get<std::string>().find("text is 40 bytes, more than the limit of 32"),
            std::string::npos) << r.raw;
  EXPECT_EQ(r.lines[1]["id"], 2);
  EXPECT_EQ(r.lines[1].contains("error"), false) << r.raw;
}

TEST(Cli, LongTextWindowsAndRacExamplesMatchTheLibrary) {
  GLICLASS_REQUIRE_GOLDEN();
  std::string text;
  for (int i = 0; i < 12; ++i) text += "The courier lost parcel " + std::to_string(i) + " again. ";
  const nlohmann::json rac = {{{"text", "Charged twice."}, {"true_labels", {"billing"}}, {"all_labels", {"billing", "shipping"}}}};
  const std::string input = nlohmann::json{{"text", text}, {"rac_examples", rac}}.dump() + "\n" +
                            "{\"text\": \"x\", \"rac_examples\": [{\"true_labels\": [\"a\"]}]}\n";
  auto r = run_cli(model_arg() + " --labels billing,shipping --all-scores --input - --format jsonl"
                   " --text-chunk-size 100 --overlap 20 --window-combine mean --labels-chunk-size 1", input);
  EXPECT_EQ(r.exit_code, 2) << r.raw;  // the second record has no text
  ASSERT_EQ(r.lines.size(), 2u) << r.raw;
  EXPECT_NE(r.lines[1]["error"].get<std::string>().find("rac_examples[0]"), std::string::npos) << r.raw;

  const auto clf = gliclass::Classifier::load((golden_dir() / "deberta_first_simple_pf").string());
  gliclass::ClassifyRequest req{text, {"billing", "shipping"}};
  req.rac_examples = {{"Charged twice.", {"billing"}, {"billing", "shipping"}}};
  gliclass::ClassifyOptions o;
  o.chunking.size = 100;
  o.chunking.overlap = 20;
  o.chunking.combine = gliclass::WindowCombine::kMean;
  o.labels_chunk_size = 1;
  const auto want = clf.classify(req, o);
  EXPECT_EQ(r.lines[0]["windows"], want.windows);
  EXPECT_GT(want.windows, 1u);
  EXPECT_EQ(r.lines[0]["label_groups"], 2);
  for (size_t k = 0; k < 2; ++k)
    EXPECT_NEAR(r.lines[0]["scores"][want.labels[k]].get<double>(), want.scores[k], 1e-6);
  // An overlap as large as the window is refused.
  auto bad = run_cli(model_arg() + " --labels a --text-chunk-size 10 --overlap 10 'text'");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(bad.lines.empty()) << bad.raw;
}

TEST(Cli, CsvWithQuotedFieldsAndSingleLabel) {
  GLICLASS_REQUIRE_GOLDEN();
  auto csv = unique_temp_path("input.csv");
  std::ofstream(csv) << "id,review\n1,\"Great, really great\"\n2,\"Line one\nline \"\"two\"\"\"\n3,plain\n";
  auto r = run_cli(model_arg() + " --labels good,bad --single-label --text-column review --input " + csv.string());
  ASSERT_EQ(r.exit_code, 0) << r.raw;
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[1]["id"], "2");
  for (const auto& j : r.lines) EXPECT_EQ(j["predictions"].size(), 1u);
  std::filesystem::remove(csv);
}

TEST(Cli, WithoutModelTheEnvironmentsModelIsUsed) {
  GLICLASS_REQUIRE_GOLDEN();
  const std::string args = "--labels a,b --logits 'A text.'";
  auto given = run_cli(model_arg() + " " + args);
  auto from_env = run_cli(args, "", "GLICLASS_MODEL=" + (golden_dir() / "deberta_first_simple_pf").string());
  ASSERT_EQ(from_env.exit_code, 0) << from_env.raw;
  EXPECT_EQ(from_env.raw, given.raw);
  auto missing = run_cli(args, "", "GLICLASS_MODEL=/nonexistent");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(missing.lines.empty());
}

// No --model and no $GLICLASS_MODEL: the bundled model of the source tree,
// which was trained on software descriptions and tells these apart.
TEST(Cli, BundledModelIsTheDefault) {
  const std::string shooter = "Games and Amusement: Action and Arcade", library = "Role: Shared Library";
  auto r = run_cli("--all-scores --labels '" + shooter + "," + library + ",Works with: Email' "
                   "'A fast-paced 3D shooter: fight through levels full of monsters, alone or in network deathmatch.' "
                   "'Shared library for decoding Ogg Vorbis audio files, used by music players.'");
  ASSERT_EQ(r.exit_code, 0) << r.raw;
  ASSERT_EQ(r.lines.size(), 2u);
  const auto& game = r.lines[0]["scores"];
  const auto& codec = r.lines[1]["scores"];
  EXPECT_GT(game[shooter].get<double>(), game[library].get<double>()) << r.raw;
  EXPECT_GT(codec[library].get<double>(), codec[shooter].get<double>()) << r.raw;
}

TEST(Cli, PlainLinesFromStdin) {
  GLICLASS_REQUIRE_GOLDEN();
  auto r = run_cli(model_arg() + " --labels a,b", "one\n\ntwo\nthree\n");
  ASSERT_EQ(r.exit_code, 0) << r.raw;
  EXPECT_EQ(r.lines.size(), 3u);
}

TEST(Cli, MissingModelIsAnErrorExit) {
  auto r = run_cli("--model /nonexistent --labels a 'text'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.lines.empty());
}

TEST(Cli, InfoDescribesEveryArchitecture) {
  GLICLASS_REQUIRE_GOLDEN();
  size_t described = 0;
  for (const auto& name : gliclass::testing::golden_cases("", "")) {
    const auto dir = golden_dir() / name;
    const auto config = gliclass::testing::read_json(dir / "config.json");
    auto r = run_gliclass("info --model " + dir.string());
    ASSERT_EQ(r.exit_code, 0) << name;
    ASSERT_EQ(r.lines.size(), 1u) << name;
    const auto& info = r.lines[0];
    EXPECT_EQ(info.at("architecture_type"), config.at("architecture_type")) << name;
    EXPECT_GT(info.at("parameters").get<int64_t>(), 0) << name;
    EXPECT_TRUE(info.at("backbone").at("hidden_size").is_number()) << name;
    EXPECT_NE(info.at("tokenizer").at("kind"), "none") << name;
    if (config.at("architecture_type") != "bi-encoder")
      EXPECT_EQ(info.at("tokenizer").at("special_token_ids").at("<<LABEL>>"), config.at("class_token_index")) << name;
    if (config.value("label_model_config", nlohmann::json()).is_object()) EXPECT_TRUE(info.contains("label_tokenizer")) << name;
    ++described;
  }
  EXPECT_GT(described, 0u);
  auto missing = run_gliclass("info --model /nonexistent");
  EXPECT_EQ(missing.exit_code, 1);
}

TEST(Cli, BenchOnAConfigGivesOnePointPerCoordinate) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto config = golden_dir() / "deberta_first_simple_pf" / "config.json";
  auto r = run_gliclass("bench --config " + config.string() +
                        " --dtype fp32,int8 --batch-sizes 1,2 --label-counts 1,3 --text-tokens 10 --texts 3 --repeats 1");
  ASSERT_EQ(r.exit_code, 0) << r.raw;
  ASSERT_EQ(r.lines.size(), 8u) << r.raw;
  std::set<std::tuple<std::string, int64_t, int64_t>> points;
  for (const auto& p : r.lines) {
    const int64_t batch = p.at("batch_size"), labels = p.at("labels");
    points.emplace(p.at("dtype"), batch, labels);
    EXPECT_EQ(p.at("seq_len").get<int64_t>(), 2 + labels * 5 + 1 + 10);
    EXPECT_EQ(p.at("texts").get<int64_t>() % batch, 0);  // whole batches, at least --texts
    EXPECT_GE(p.at("texts").get<int64_t>(), 3);
    const double texts_per_s = p.at("texts_per_s");
    EXPECT_GT(texts_per_s, 0);
    const double tokens_per_s = texts_per_s * p.at("seq_len").get<double>(), ms_per_text = 1e3 / texts_per_s;
    EXPECT_NEAR(p.at("tokens_per_s").get<double>(), tokens_per_s, 1e-9 * tokens_per_s);
    EXPECT_NEAR(p.at("ms_per_text").get<double>(), ms_per_text, 1e-9 * ms_per_text);
    EXPECT_GT(p.at("peak_rss_mb").get<double>(), 0);
    EXPECT_GE(p.at("threads").get<int>(), 1);
    EXPECT_FALSE(p.at("matmul").get<std::string>().empty());
  }
  EXPECT_EQ(points.size(), 8u);  // every dtype x batch size x label count once
}

TEST(Cli, BenchEndToEndOnAModelAndItsErrors) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto input = unique_temp_path("texts.jsonl");
  std::ofstream(input) << R"({"text": "A match report.", "labels": ["sports", "politics"]})" << "\n"
                       << R"({"text": "Election news.", "labels": ["politics", "tech"]})" << "\n";
  auto r = run_gliclass("bench " + model_arg() + " --input " + input.string() +
                        " --batch-sizes 2 --label-counts 1,3 --texts 4 --repeats 1");
  ASSERT_EQ(r.exit_code, 0) << r.raw;
  ASSERT_EQ(r.lines.size(), 2u) << r.raw;
  EXPECT_EQ(r.lines[1].at("labels"), 3);  // the pool: the labels the records name
  EXPECT_EQ(r.lines[1].at("texts"), 4);
  EXPECT_GT(r.lines[1].at("texts_per_s").get<double>(), 0);

  // More labels per text than the pool has; a config that is not one prompt per text; neither source.
  EXPECT_EQ(run_gliclass("bench " + model_arg() + " --input " + input.string() + " --label-counts 4").exit_code, 1);
  std::filesystem::remove(input);
  for (const auto& name : gliclass::testing::golden_cases("", ""))
    if (gliclass::testing::read_json(golden_dir() / name / "config.json").at("architecture_type") == "bi-encoder") {
      auto bi = run_gliclass("bench --config " + (golden_dir() / name / "config.json").string() + " --label-counts 1");
      EXPECT_EQ(bi.exit_code, 1) << name;
      EXPECT_TRUE(bi.lines.empty());
      break;
    }
  EXPECT_NE(run_gliclass("bench --label-counts 1").exit_code, 0);
}
