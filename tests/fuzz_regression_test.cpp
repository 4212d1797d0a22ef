// Inputs the fuzz targets (fuzz/, docs/hardening.md) found or that probe the
// parsers' limits, kept in tests/data/fuzz/<target>/: each goes through the
// target's entry point here and must be refused with the library's own error
// and message. Every stored file must be listed below.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "gliclass/error.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "serve/api.h"
#include "test_util.h"
#include "tokenize/spm_model.h"
#include "tokenize/spm_normalizer.h"
#include "tokenize/tokenizer.h"

namespace fs = std::filesystem;
using gliclass::ModelError;
using gliclass::testing::contains;
using gliclass::testing::model_error_of;
using gliclass::testing::TempDir;
namespace tk = gliclass::tokenize;

namespace {

fs::path fuzz_data_dir(const std::string& target) { return fs::path(__FILE__).parent_path() / "data" / "fuzz" / target; }

std::string read_fuzz_input(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every file of `target` is refused by `open` with a ModelError whose message
// holds the listed text; a stored file missing from `expected` fails.
void expect_fuzz_model_errors(const std::string& target, const std::map<std::string, std::string>& expected,
                         const std::function<void(const fs::path&)>& open) {
  std::set<std::string> stored;
  for (const auto& entry : fs::directory_iterator(fuzz_data_dir(target))) stored.insert(entry.path().filename());
  for (const auto& name : stored) EXPECT_TRUE(expected.count(name)) << target << "/" << name << " is not listed";
  for (const auto& [name, message] : expected) {
    SCOPED_TRACE(target + "/" + name);
    ASSERT_TRUE(stored.count(name)) << "missing " << fuzz_data_dir(target) / name;
    const std::string what = model_error_of([&] { open(fuzz_data_dir(target) / name); });
    EXPECT_TRUE(contains(what, message)) << "expected \"" << message << "\" in: " << what;
  }
}

}  // namespace

TEST(FuzzRegression, ConfigJson) {
  expect_fuzz_model_errors("config",
                      {{"deep-nesting.json", "nests deeper than 64 levels"},
                       {"float-int-overflow.json", "key 'hidden_size' (expected an integer, got number 1e+30)"},
                       {"huge-max-labels-alloc.json", "key 'max_labels_alloc' has unknown value"},
                       {"vocab-size-overflow.json", "key 'vocab_size' is too large"},
                       {"uint64-int.json", "key 'max_num_classes' (expected an integer in the int64 range"},
                       {"number-overflow.json", "is not valid JSON ([json.exception.out_of_range.406] number overflow"}},
                      [](const fs::path& file) { gliclass::io::GLiClassConfig::from_file(file); });
}

TEST(FuzzRegression, Safetensors) {
  expect_fuzz_model_errors("safetensors",
                           {{"header-over-limit.safetensors",
                             "header length 200000000 is more than the limit of 100000000 bytes"},
                            {"deep-shape.safetensors", "header nests deeper than 64 levels"}},
                           [](const fs::path& file) {
                             auto tensors = gliclass::io::open_safetensors(file);
                             for (const auto& name : tensors->names()) tensors->get(name);
                           });
}

TEST(FuzzRegression, TokenizerJson) {
  expect_fuzz_model_errors("tokenizer_json",
                      {{"huge-vocab-id.json", "id of \"ab\" out of range (expected 0..1029 for 3 vocabulary entries"},
                       {"deep-post-processor.json", "nests deeper than 64 levels"}},
                      [](const fs::path& file) {
                        TempDir dir("fuzz_tokenizer_json");
                        fs::copy_file(file, dir.path / "tokenizer.json");
                        tk::load_tokenizer_json(dir.path);
                      });
}

TEST(FuzzRegression, SentencePieceModel) {
  expect_fuzz_model_errors("spm_model", {{"length-past-end.model", "length beyond the end of the data"}},
                      [](const fs::path& file) {
                        tk::SpmModel model(tk::parse_spm_model(read_fuzz_input(file), file.string()), file.string());
                      });
}

// The WordPiece loader bounds ids as the BPE one does: one huge id in a
// small file must not size the id -> token table.
TEST(FuzzRegression, WordPieceVocabIdBound) {
  TempDir dir("fuzz_wordpiece");
  dir.write("tokenizer.json",
            R"({"model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 4000000000}}})");
  const std::string what = model_error_of([&] { tk::load_tokenizer_json(dir.path); });
  EXPECT_TRUE(contains(what, "id of \"a\" out of range (expected 0..1027 for 2 vocabulary entries, got 4000000000)"))
      << what;
}

// A precompiled_charsmap short enough to live inside std::string's own buffer
// (14 bytes): its replacement strings must survive the normaliser taking the
// charsmap over. Rule: "\x01" -> "x" (darts-clone units 0 and 0x501).
TEST(FuzzRegression, ShortCharsmapSurvivesMove) {
  tk::SpmModelSpec spec;
  spec.precompiled_charsmap = std::string("\x08\x00\x00\x00" "\x00\x00\x00\x00" "\x01\x05\x00\x00" "x\0", 14);
  tk::SpmNormalizer normalizer(spec, nullptr, "test");
  std::string normalized;
  std::vector<size_t> offsets;
  normalizer.normalize("\x01", &normalized, &offsets);
  EXPECT_EQ(normalized, "\xE2\x96\x81x");  // the dummy prefix, then the replacement
}

// The CLI's JSONL reader (`gliclass classify --input`): a bad line is that
// line's error, and the next line still classifies.
TEST(FuzzRegression, JsonlInput) {
  const std::map<std::string, std::string> expected = {
      {"deep-label-tree.jsonl", "the line nests deeper than 32 levels"},
      {"number-overflow.jsonl", "not valid JSON: [json.exception.out_of_range.406] number overflow"}};
  std::set<std::string> stored;
  for (const auto& entry : fs::directory_iterator(fuzz_data_dir("jsonl_input"))) stored.insert(entry.path().filename());
  for (const auto& name : stored) EXPECT_TRUE(expected.count(name)) << "jsonl_input/" << name << " is not listed";
  for (const auto& [name, message] : expected) {
    SCOPED_TRACE("jsonl_input/" + name);
    TempDir dir("fuzz_jsonl");
    dir.write("input.jsonl", read_fuzz_input(fuzz_data_dir("jsonl_input") / name) + "\n{\"text\": \"fine\"}\n");
    const std::string cmd = "env -u GLICLASS_MODEL " + std::string(GLICLASS_CLI_PATH) +
                            " classify --quiet --labels a --format jsonl --input " + (dir.path / "input.jsonl").string() +
                            " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int status = pclose(p);
    EXPECT_EQ(WEXITSTATUS(status), 2) << out;  // some lines failed
    std::istringstream lines(out);
    std::string bad_line, good_line, last;
    std::getline(lines, bad_line);
    while (std::getline(lines, last)) good_line = last;
    const auto bad = nlohmann::json::parse(bad_line);
    EXPECT_EQ(bad.value("line", 0), 1);
    EXPECT_TRUE(contains(bad.value("error", ""), message)) << bad_line;
    EXPECT_TRUE(nlohmann::json::parse(good_line).contains("predictions")) << good_line;
  }
}

// The server's bodies: refused as a FormatError (400), for both endpoints.
TEST(FuzzRegression, ServerBody) {
  const auto classifier = gliclass::Classifier::load(
      (fs::path(__FILE__).parent_path().parent_path() / "models" / "gliclass-debtags-tiny").string());
  const std::map<std::string, std::string> expected = {
      {"number-overflow.json", "the request body is not valid JSON: [json.exception.out_of_range.406]"}};
  std::set<std::string> stored;
  for (const auto& entry : fs::directory_iterator(fuzz_data_dir("server_body"))) stored.insert(entry.path().filename());
  for (const auto& name : stored) EXPECT_TRUE(expected.count(name)) << "server_body/" << name << " is not listed";
  for (const auto& [name, message] : expected) {
    SCOPED_TRACE("server_body/" + name);
    const std::string body = read_fuzz_input(fuzz_data_dir("server_body") / name);
    for (auto parse : {&gliclass::serve::parse_classify_body, &gliclass::serve::parse_gliclass_body}) {
      try {
        parse(body, gliclass::serve::Limits{}, classifier);
        ADD_FAILURE() << "accepted";
      } catch (const gliclass::serve::FormatError& e) {
        EXPECT_TRUE(contains(e.what(), message)) << e.what();
      }
    }
  }
}
