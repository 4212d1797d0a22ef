// WordPiece: the slow BertTokenizer from vocab.txt against transformers'
// (token goldens, bert_first_simple and the bi-encoders' label tokenizers),
// the same vocabulary as a fast tokenizer.json (BertNormalizer,
// BertPreTokenizer), BasicTokenizer's options, offsets, and errors.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <functional>

#include <unistd.h>

#include "gliclass/error.h"
#include "test_util.h"
#include "tokenize/tokenizer.h"
#include "tokenize/wordpiece_tokenizer.h"

namespace fs = std::filesystem;
using gliclass::ModelError;
using gliclass::testing::golden_cases;
using gliclass::testing::golden_dir;
using gliclass::testing::contains;
using gliclass::testing::model_error_of;
using gliclass::testing::read_json;
using gliclass::testing::TempDir;
using gliclass::testing::tokenizer_dir;
using nlohmann::json;
namespace tk = gliclass::tokenize;

namespace {

const char kWordPieceDir[] = "tiny-bert-wordpiece";

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Ids and tokens (the template's special tokens included in `want_tokens`).
void expect_encodes(const tk::Tokenizer& tok, const std::string& text, const json& want_ids,
                    const json& want_tokens, size_t max_length, const std::string& what) {
  EXPECT_EQ(tok.encode_with_special_tokens(text, max_length), want_ids.get<std::vector<int64_t>>())
      << what << " text: " << text;
  auto want = want_tokens.get<std::vector<std::string>>();
  auto enc = tok.encode(text);
  size_t body = want.size() - tok.prefix_ids().size() - tok.suffix_ids().size();
  ASSERT_LE(body, enc.size()) << what;
  EXPECT_EQ(std::vector<std::string>(enc.tokens.begin(), enc.tokens.begin() + body),
            std::vector<std::string>(want.begin() + 1, want.begin() + 1 + body))
      << what << " text: " << text;
}

// Offsets: in the text, on character boundaries, in order; a piece that is
// plain ASCII spells its slice (lowercased); cutting before a token that
// starts a new word gives the same tokens on both sides. Returns the number
// of cuts checked.
size_t expect_offset_properties(const tk::Tokenizer& tok, const std::string& text) {
  size_t cuts = 0;
  auto enc = tok.encode(text);
  EXPECT_EQ(enc.begin.size(), enc.size());
  if (enc.begin.size() != enc.size() || enc.end.size() != enc.size()) return 0;
  auto boundary = [&](size_t at) {
    return at == text.size() || (static_cast<unsigned char>(text[at]) & 0xC0) != 0x80;
  };
  for (size_t i = 0; i < enc.size(); ++i) {
    EXPECT_LT(enc.begin[i], enc.end[i]) << text << " token " << i;
    EXPECT_LE(enc.end[i], text.size()) << text << " token " << i;
    EXPECT_TRUE(boundary(enc.begin[i]) && boundary(enc.end[i])) << text << " token " << i;
    // In order (pieces of one decomposed character, e.g. Hangul jamo, share its range).
    if (i > 0) {
      EXPECT_GE(enc.begin[i], enc.begin[i - 1]) << text << " token " << i;
    }
    if (i > 0) {
      EXPECT_GE(enc.end[i], enc.end[i - 1]) << text << " token " << i;
    }
    std::string piece = enc.tokens[i].rfind("##", 0) == 0 ? enc.tokens[i].substr(2) : enc.tokens[i];
    std::string slice = text.substr(enc.begin[i], enc.end[i] - enc.begin[i]);
    auto lower = [](std::string s) {
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    };
    bool ascii = std::all_of(slice.begin(), slice.end(), [](char c) { return c > 32 && c < 127; });
    if (ascii && enc.tokens[i] != "[UNK]") {
      EXPECT_EQ(lower(slice), lower(piece)) << text << " token " << i;
    }
  }
  for (size_t k = 1; k < enc.size(); ++k) {
    size_t cut = enc.begin[k];
    // Only where a new word starts after a gap (whitespace, removed characters).
    if (enc.end[k - 1] == cut || enc.tokens[k].rfind("##", 0) == 0) continue;
    auto left = tok.encode(text.substr(0, cut));
    auto right = tok.encode(text.substr(cut));
    EXPECT_EQ(left.ids, std::vector<int64_t>(enc.ids.begin(), enc.ids.begin() + k)) << text << " cut " << cut;
    EXPECT_EQ(right.ids, std::vector<int64_t>(enc.ids.begin() + k, enc.ids.end())) << text << " cut " << cut;
    ++cuts;
  }
  return cuts;
}

// The same vocabulary as transformers' BertConverter writes it.
json bert_tokenizer_json(const fs::path& dir) {
  json vocab = json::object();
  std::string text = read_text(dir / "vocab.txt"), line;
  int64_t id = 0;
  for (char c : text) {
    if (c == '\n') {
      vocab[line] = id++;
      line.clear();
    } else {
      line += c;
    }
  }
  if (!line.empty()) vocab[line] = id++;
  json config = read_json(dir / "tokenizer_config.json");
  json added = json::array();
  for (const auto& [key, decl] : config.at("added_tokens_decoder").items()) {
    json a = decl;
    a["id"] = std::stoll(key);
    added.push_back(a);
  }
  auto special = [&](const std::string& name) {
    return json{{"id", name}, {"ids", {vocab.at(name)}}, {"tokens", {name}}};
  };
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"normalizer",
           {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
            {"strip_accents", nullptr}, {"lowercase", true}}},
          {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single", {{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                        {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                        {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}}},
            {"special_tokens", {{"[CLS]", special("[CLS]")}, {"[SEP]", special("[SEP]")}}}}},
          {"model",
           {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
            {"max_input_chars_per_word", 100}, {"vocab", vocab}}}};
}

// A small hand-made vocabulary for the options.
const char kToyVocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##s\nworld\ncafe\ncaf\n##\xC3\xA9\n!\nHello\nFOO\n"
    "\xE6\x88\x91\n\xE7\x88\xB1\na\n##a\nhellos\n";

std::unique_ptr<tk::Tokenizer> toy(const json& config) {
  TempDir dir;
  dir.write("vocab.txt", kToyVocab);
  dir.write("tokenizer_config.json", config.dump());
  return tk::load_wordpiece_vocab(dir.path);
}

std::vector<int64_t> ids(const tk::Tokenizer& tok, const std::string& text) { return tok.encode(text).ids; }

}  // namespace

// ---- the slow tokenizer's goldens ---------------------------------------------------

TEST(WordPieceGoldens, VocabTxtMatchesSlowBertTokenizer) {
  GLICLASS_REQUIRE_GOLDEN();
  auto tok = tk::Tokenizer::from_dir(tokenizer_dir(kWordPieceDir));
  json goldens = read_json(tokenizer_dir(kWordPieceDir) / "token_goldens.json");
  size_t n = 0;
  for (const auto& s : goldens.at("strings")) {
    expect_encodes(*tok, s.at("text").get<std::string>(), s.at("ids"), s.at("tokens"), 0, kWordPieceDir);
    ++n;
  }
  EXPECT_GT(n, 150u);
  std::cout << "[ wordpiece ] " << n << " strings equal\n";
}

TEST(WordPieceGoldens, FastTokenizerJsonOfTheSameVocabularyMatches) {
  GLICLASS_REQUIRE_GOLDEN();
  // BertNormalizer + BertPreTokenizer give the slow tokenizer's ids here.
  TempDir dir;
  dir.write("tokenizer.json", bert_tokenizer_json(tokenizer_dir(kWordPieceDir)).dump());
  auto tok = tk::Tokenizer::from_dir(dir.path);
  json goldens = read_json(tokenizer_dir(kWordPieceDir) / "token_goldens.json");
  for (const auto& s : goldens.at("strings"))
    expect_encodes(*tok, s.at("text").get<std::string>(), s.at("ids"), s.at("tokens"), 0, "tokenizer.json");
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->token_to_id("<<LABEL>>"), 561);
}

TEST(WordPieceCases, BertCasesAndLabelTokenizersReproduceIds) {
  GLICLASS_REQUIRE_GOLDEN();
  size_t inputs = 0, labels = 0;
  for (const auto& name : golden_cases("", "bert")) {
    json c = read_json(golden_dir() / name / "cases.json");
    auto tok = tk::Tokenizer::from_dir(golden_dir() / name);
    size_t max_length = c.at("pipeline").at("max_length").get<size_t>();
    for (const auto& in : c.at("inputs")) {
      expect_encodes(*tok, in.at("model_input_string").get<std::string>(), in.at("input_ids"), in.at("tokens"),
                     max_length, name + "/" + in.at("id").get<std::string>());
      ++inputs;
    }
  }
  // Bi-encoders: the label side is a BERT tokenizer, one label per row.
  for (const std::string arch : {"bi-encoder", "bi-encoder-fused"}) {
    for (const auto& name : golden_cases(arch, "")) {
      fs::path dir = golden_dir() / name;
      json config = read_json(dir / "config.json");
      if (!config.contains("label_model_name")) continue;
      auto tok = tk::Tokenizer::from_dir(dir / config["label_model_name"].get<std::string>());
      json c = read_json(dir / "cases.json");
      for (const auto& in : c.at("inputs")) {
        if (!in.contains("class_input_ids")) continue;
        for (size_t l = 0; l < in.at("labels").size(); ++l) {
          auto row = in["class_input_ids"][l].get<std::vector<int64_t>>();
          auto mask = in["class_attention_mask"][l].get<std::vector<int64_t>>();
          row.resize(static_cast<size_t>(std::count(mask.begin(), mask.end(), 1)));
          EXPECT_EQ(tok->encode_with_special_tokens(in["labels"][l].get<std::string>(), 512), row)
              << name << " label " << in["labels"][l];
          ++labels;
        }
      }
    }
  }
  EXPECT_GT(inputs, 0u);
  EXPECT_GT(labels, 0u);
  std::cout << "[ wordpiece ] " << inputs << " bert inputs, " << labels << " bi-encoder labels\n";
}

TEST(WordPieceOffsets, EveryGoldenStringHasLocalConsistentOffsets) {
  GLICLASS_REQUIRE_GOLDEN();
  std::vector<std::unique_ptr<tk::Tokenizer>> toks;
  toks.push_back(tk::load_wordpiece_vocab(tokenizer_dir(kWordPieceDir)));
  TempDir dir;
  dir.write("tokenizer.json", bert_tokenizer_json(tokenizer_dir(kWordPieceDir)).dump());
  toks.push_back(tk::Tokenizer::from_dir(dir.path));
  json goldens = read_json(tokenizer_dir(kWordPieceDir) / "token_goldens.json");
  size_t cuts = 0;
  for (const auto& tok : toks)
    for (const auto& s : goldens.at("strings")) cuts += expect_offset_properties(*tok, s.at("text").get<std::string>());
  EXPECT_GT(cuts, 100u);
  // Lowercasing, accents and NFC keep offsets in the original string.
  auto enc = toks[0]->encode("Ce\xCC\x81" "DAR");
  ASSERT_FALSE(enc.ids.empty());
  EXPECT_EQ(enc.begin.front(), 0u);
  EXPECT_EQ(enc.end.back(), 7u);
}

// ---- BasicTokenizer's options ---------------------------------------------------------

TEST(WordPieceOptions, LowerCaseAccentsNeverSplitChineseAndLongWords) {
  auto lower = toy(json::object());  // BertTokenizer's defaults: lowercase, strip accents
  auto id = [&](const char* t) { return *lower->token_to_id(t); };
  EXPECT_EQ(ids(*lower, "Hello worlds!"), (std::vector<int64_t>{id("hello"), id("world"), id("##s"), id("!")}));
  EXPECT_EQ(ids(*lower, "CAF\xC3\x89"), (std::vector<int64_t>{id("cafe")}));
  EXPECT_EQ(ids(*lower, "\xE6\x88\x91\xE7\x88\xB1x"),  // CJK ideographs are words of their own
            (std::vector<int64_t>{id("\xE6\x88\x91"), id("\xE7\x88\xB1"), id("[UNK]")}));
  EXPECT_EQ(ids(*lower, std::string(100, 'a')).size(), 100u);
  EXPECT_EQ(ids(*lower, std::string(101, 'a')), (std::vector<int64_t>{id("[UNK]")}));
  EXPECT_EQ(ids(*lower, "[CLS]hello[MASK]"), (std::vector<int64_t>{2, id("hello"), 4}));

  auto keep_accents = toy({{"strip_accents", false}});
  EXPECT_EQ(ids(*keep_accents, "CAF\xC3\x89"), (std::vector<int64_t>{id("caf"), id("##\xC3\xA9")}));

  auto cased = toy({{"do_lower_case", false}, {"never_split", {"FOO", "hellos"}}});
  EXPECT_EQ(ids(*cased, "Hello hello FOO"), (std::vector<int64_t>{id("Hello"), id("hello"), id("FOO")}));
  // A never_split word is looked up whole: not in pieces, [UNK] if absent.
  EXPECT_EQ(ids(*cased, "hellos"), (std::vector<int64_t>{id("hellos")}));
  auto cased2 = toy({{"do_lower_case", false}, {"never_split", {"worlds"}}});
  EXPECT_EQ(ids(*cased2, "worlds world!"), (std::vector<int64_t>{id("[UNK]"), id("world"), id("!")}));

  auto no_chinese = toy({{"tokenize_chinese_chars", false}});  // one word: 我 then no "##爱"
  EXPECT_EQ(ids(*no_chinese, "\xE6\x88\x91\xE7\x88\xB1"), (std::vector<int64_t>{id("[UNK]")}));
}

// ---- errors -------------------------------------------------------------------------

TEST(WordPieceErrors, MissingOrBrokenVocabTxt) {
  TempDir empty;
  std::string msg = model_error_of([&] { tk::load_wordpiece_vocab(empty.path); });
  EXPECT_TRUE(contains(msg, (empty.path / "vocab.txt").string())) << msg;
  msg = model_error_of([&] { tk::Tokenizer::from_dir(empty.path); });
  EXPECT_TRUE(contains(msg, "vocab.txt")) << msg;

  TempDir blank;
  blank.write("vocab.txt", "");
  msg = model_error_of([&] { tk::Tokenizer::from_dir(blank.path); });
  EXPECT_TRUE(contains(msg, "vocab.txt") && contains(msg, "empty")) << msg;

  TempDir no_unk;
  no_unk.write("vocab.txt", "[PAD]\n[CLS]\n[SEP]\nhello\n");
  msg = model_error_of([&] { tk::Tokenizer::from_dir(no_unk.path); });
  EXPECT_TRUE(contains(msg, "vocab.txt") && contains(msg, "[UNK]")) << msg;

  TempDir no_cls;
  no_cls.write("vocab.txt", "[PAD]\n[UNK]\n[SEP]\nhello\n");
  msg = model_error_of([&] { tk::Tokenizer::from_dir(no_cls.path); });
  EXPECT_TRUE(contains(msg, "vocab.txt") && contains(msg, "[CLS]")) << msg;

  TempDir bad_config;
  bad_config.write("vocab.txt", kToyVocab);
  bad_config.write("tokenizer_config.json", R"({"never_split": "FOO"})");
  msg = model_error_of([&] { tk::Tokenizer::from_dir(bad_config.path); });
  EXPECT_TRUE(contains(msg, "tokenizer_config.json") && contains(msg, "never_split")) << msg;
}

TEST(WordPieceErrors, TokenizerJsonProblemsNameTheFile) {
  GLICLASS_REQUIRE_GOLDEN();
  std::vector<std::pair<std::function<void(json&)>, std::vector<std::string>>> cases = {
      {[](json& d) { d["model"]["unk_token"] = "<unk>"; }, {"unk_token", "<unk>"}},
      {[](json& d) { d["model"]["vocab"] = {{"a", -1}, {"[UNK]", 0}}; }, {"negative"}},
      {[](json& d) { d["normalizer"]["type"] = "Precompiled"; }, {"normalizer", "Precompiled"}},
      {[](json& d) { d["pre_tokenizer"]["type"] = "FixedLength"; }, {"pre_tokenizer", "FixedLength"}},
      {[](json& d) { d["model"]["max_input_chars_per_word"] = "many"; }, {"max_input_chars_per_word"}},
  };
  for (const auto& [edit, expect] : cases) {
    json doc = bert_tokenizer_json(tokenizer_dir(kWordPieceDir));
    edit(doc);
    TempDir dir;
    dir.write("tokenizer.json", doc.dump());
    std::string msg = model_error_of([&] { tk::Tokenizer::from_dir(dir.path); });
    EXPECT_TRUE(contains(msg, (dir.path / "tokenizer.json").string())) << msg;
    for (const auto& e : expect) EXPECT_TRUE(contains(msg, e)) << "message: " << msg;
  }
}
