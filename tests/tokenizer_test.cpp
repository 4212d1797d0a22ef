// Tokenizers against the slow HF tokenizers (token goldens and every golden
// case's input_ids), offsets, added-token splitting and error messages.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <unistd.h>

#include "gliclass/error.h"
#include "test_util.h"
#include "tokenize/added_tokens.h"
#include "tokenize/tokenizer.h"

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


std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Ids with special tokens and the body's tokens equal the reference's
// (`tokens` includes the template's special tokens).
void expect_matches(const tk::Tokenizer& tok, const std::string& text, const json& ids,
                    const json& tokens, size_t max_length, const std::string& what) {
  auto got = tok.encode_with_special_tokens(text, max_length);
  EXPECT_EQ(got, ids.get<std::vector<int64_t>>()) << what << " text: " << text;
  auto want = tokens.get<std::vector<std::string>>();
  size_t pre = tok.prefix_ids().size(), suf = tok.suffix_ids().size();
  ASSERT_GE(want.size(), pre + suf) << what;
  std::vector<std::string> body(want.begin() + pre, want.end() - suf);
  auto enc = tok.encode(text);
  std::vector<std::string> mine(enc.tokens.begin(),
                                enc.tokens.begin() + std::min(enc.size(), body.size()));
  EXPECT_EQ(mine, body) << what << " text: " << text;
}

// Every string of tokenizers/<name>/token_goldens.json; returns how many.
size_t check_token_goldens(const tk::Tokenizer& tok, const std::string& name,
                           const char* ids_key, const char* tokens_key) {
  json goldens = read_json(tokenizer_dir(name) / "token_goldens.json");
  size_t n = 0;
  for (const auto& s : goldens.at("strings")) {
    expect_matches(tok, s.at("text").get<std::string>(), s.at(ids_key), s.at(tokens_key), 0, name);
    ++n;
  }
  return n;
}

// Offsets: inside the text, in order; added tokens cover exactly their text;
// a piece that reads as plain ASCII text covers that text. (SentencePiece
// gives the dummy "▁" and all but the last piece of a character that
// normalises to several, e.g. "½" -> "1⁄2", an empty range.)
void expect_sane_offsets(const tk::Tokenizer& tok, const std::string& text,
                         const std::set<std::string>& added, const std::string& unk) {
  auto enc = tok.encode(text);
  ASSERT_EQ(enc.begin.size(), enc.size());
  ASSERT_EQ(enc.end.size(), enc.size());
  ASSERT_EQ(enc.tokens.size(), enc.size());
  auto printable = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > 32 && c < 127; });
  };
  size_t last_begin = 0;
  for (size_t i = 0; i < enc.size(); ++i) {
    EXPECT_LE(enc.begin[i], enc.end[i]) << text << " token " << i;
    EXPECT_LE(enc.end[i], text.size()) << text << " token " << i;
    EXPECT_GE(enc.begin[i], last_begin) << text << " token " << i;
    last_begin = enc.begin[i];
    std::string slice = text.substr(enc.begin[i], enc.end[i] - enc.begin[i]);
    const std::string& t = enc.tokens[i];
    if (t == unk && slice != unk) continue;  // an unknown span, any width
    if (added.count(t)) {
      EXPECT_EQ(slice, t) << text << " token " << i;
    } else if (printable(t) && printable(slice)) {  // no "▁" in t: it is not ASCII
      EXPECT_EQ(slice, t) << text << " token " << i;
    }
  }
}

// Contents of added_tokens_decoder in tokenizer_config.json.
std::set<std::string> added_contents(const fs::path& dir) {
  std::set<std::string> out;
  json config = read_json(dir / "tokenizer_config.json");
  for (const auto& [id, decl] : config.at("added_tokens_decoder").items())
    out.insert(decl.at("content").get<std::string>());
  return out;
}

}  // namespace

// ---- the slow tokenizer's token goldens ---------------------------------------

TEST(TokenizerGoldens, DebertaSentencePieceMatchesSlowTokenizer) {
  GLICLASS_REQUIRE_GOLDEN();
  auto tok = tk::load_sentencepiece(tokenizer_dir("tiny-deberta-spm"));
  size_t n = check_token_goldens(*tok, "tiny-deberta-spm", "slow_ids", "slow_tokens");
  EXPECT_GT(n, 100u);
}

TEST(TokenizerGoldens, DebertaTokenizerJsonMatchesSlowTokenizer) {
  GLICLASS_REQUIRE_GOLDEN();
  auto tok = tk::load_tokenizer_json(tokenizer_dir("tiny-deberta-spm"));
  size_t n = check_token_goldens(*tok, "tiny-deberta-spm", "slow_ids", "slow_tokens");
  EXPECT_GT(n, 100u);
}

TEST(TokenizerGoldens, DebertaTokenizerJsonAloneMatchesSlowTokenizer) {
  GLICLASS_REQUIRE_GOLDEN();
  // Only tokenizer.json: its added_tokens and post_processor carry everything.
  TempDir dir;
  dir.copy_from(tokenizer_dir("tiny-deberta-spm"), "tokenizer.json");
  auto tok = tk::Tokenizer::from_dir(dir.path);
  check_token_goldens(*tok, "tiny-deberta-spm", "slow_ids", "slow_tokens");
}

TEST(TokenizerGoldens, OtherSpellingsOfTheUnigramPipelineGiveTheSameIds) {
  GLICLASS_REQUIRE_GOLDEN();
  // What SpmConverter writes for T5-like models, and the pre-0.14 Metaspace
  // keys: the same SentencePiece normalisation, so the same ids; the
  // post-processor here is BertProcessing.
  fs::path src = tokenizer_dir("tiny-deberta-spm");
  json doc = read_json(src / "tokenizer.json");
  json charsmap = doc["normalizer"]["normalizers"][1];
  ASSERT_EQ(charsmap["type"], "Precompiled");
  doc["normalizer"] = {{"type", "Sequence"},
                       {"normalizers",
                        {charsmap,
                         {{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}},
                         {{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", "\xE2\x96\x81"}}}}};
  doc["pre_tokenizer"] = {{"type", "Sequence"},
                          {"pretokenizers",
                           {{{"type", "WhitespaceSplit"}},
                            {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}, {"add_prefix_space", true}}}}};
  doc["post_processor"] = {{"type", "BertProcessing"}, {"sep", {"[SEP]", 2}}, {"cls", {"[CLS]", 1}}};
  TempDir dir;
  dir.write("tokenizer.json", doc.dump());
  auto variant = tk::Tokenizer::from_dir(dir.path);
  auto reference = tk::load_sentencepiece(src);
  json goldens = read_json(src / "token_goldens.json");
  for (const auto& s : goldens.at("strings")) {
    std::string text = s.at("text").get<std::string>();
    EXPECT_EQ(variant->encode_with_special_tokens(text), reference->encode_with_special_tokens(text)) << text;
  }
}

TEST(TokenizerGoldens, T5SentencePieceMatchesSlowLegacyTokenizer) {
  GLICLASS_REQUIRE_GOLDEN();
  auto tok = tk::Tokenizer::from_dir(tokenizer_dir("tiny-t5-spm"));
  EXPECT_TRUE(tok->prefix_ids().empty());
  size_t n = check_token_goldens(*tok, "tiny-t5-spm", "ids", "tokens");
  EXPECT_GT(n, 100u);
}

TEST(TokenizerGoldens, SpecialIdsAndVocabularyFollowTheConfigFiles) {
  GLICLASS_REQUIRE_GOLDEN();
  for (const char* name : {"tiny-deberta-spm", "tiny-t5-spm"}) {
    fs::path dir = tokenizer_dir(name);
    json config = read_json(dir / "tokenizer_config.json");
    int64_t max_id = -1;
    std::vector<std::unique_ptr<tk::Tokenizer>> toks;
    toks.push_back(tk::load_sentencepiece(dir));
    if (fs::exists(dir / "tokenizer.json")) toks.push_back(tk::load_tokenizer_json(dir));
    for (const auto& tok : toks) {
      for (const auto& [id, decl] : config.at("added_tokens_decoder").items()) {
        auto content = decl.at("content").get<std::string>();
        EXPECT_EQ(tok->token_to_id(content), std::stoll(id)) << name << " " << content;
        max_id = std::max<int64_t>(max_id, std::stoll(id));
      }
      json added = read_json(dir / "added_tokens.json");
      for (const auto& [content, id] : added.items())
        EXPECT_EQ(tok->token_to_id(content), id.get<int64_t>()) << name << " " << content;
      EXPECT_EQ(tok->vocab_size(), static_cast<size_t>(max_id + 1)) << name;
      EXPECT_EQ(tok->pad_id(), tok->token_to_id(config.at("pad_token").get<std::string>())) << name;
      std::vector<int64_t> want_suffix;
      if (config.contains("sep_token")) {
        EXPECT_EQ(tok->prefix_ids(), std::vector<int64_t>{*tok->token_to_id(config["cls_token"].get<std::string>())});
        want_suffix = {*tok->token_to_id(config["sep_token"].get<std::string>())};
      } else {
        EXPECT_TRUE(tok->prefix_ids().empty());
        want_suffix = {*tok->token_to_id(config["eos_token"].get<std::string>())};
      }
      EXPECT_EQ(tok->suffix_ids(), want_suffix) << name;
      EXPECT_FALSE(tok->token_to_id("no such token, surely"));
    }
  }
}

// ---- every golden case's input_ids ---------------------------------------------

TEST(TokenizerCases, DebertaCasesReproduceInputIds) {
  GLICLASS_REQUIRE_GOLDEN();
  size_t cases = 0, inputs = 0;
  for (const auto& name : golden_cases("", "deberta")) {
    json c = read_json(golden_dir() / name / "cases.json");
    auto tok = tk::Tokenizer::from_dir(golden_dir() / name);
    size_t max_length = c.at("pipeline").at("max_length").get<size_t>();
    for (const auto& in : c.at("inputs")) {
      expect_matches(*tok, in.at("model_input_string").get<std::string>(), in.at("input_ids"),
                     in.at("tokens"), max_length, name + "/" + in.at("id").get<std::string>());
      ++inputs;
    }
    if (c.contains("chunking")) {  // per forward pass, padded to the longest
      size_t chunk_max = c["chunking"].at("max_length").get<size_t>();
      for (const auto& call : c["chunking"].at("calls"))
        for (const auto& pass : call.at("passes"))
          for (size_t i = 0; i < pass.at("model_input_strings").size(); ++i) {
            auto ids = pass["input_ids"][i].get<std::vector<int64_t>>();
            auto mask = pass["attention_mask"][i].get<std::vector<int64_t>>();
            ids.resize(static_cast<size_t>(std::count(mask.begin(), mask.end(), 1)));
            EXPECT_EQ(tok->encode_with_special_tokens(pass["model_input_strings"][i].get<std::string>(),
                                                      chunk_max),
                      ids)
                << name << " chunking pass";
            ++inputs;
          }
    }
    if (c.contains("pipeline_calls")) {
      for (const auto& call : c["pipeline_calls"])
        for (const auto& item : call.at("items")) {
          expect_matches(*tok, item.at("model_input_string").get<std::string>(), item.at("input_ids"),
                         item.at("tokens"), max_length, name + "/" + call.at("id").get<std::string>());
          ++inputs;
        }
    }
    ++cases;
  }
  EXPECT_GT(cases, 0u);
  EXPECT_GT(inputs, 0u);
  std::cout << "[ tokenizer ] " << cases << " deberta cases, " << inputs << " inputs\n";
}

TEST(TokenizerCases, T5CasesReproduceBothSides) {
  GLICLASS_REQUIRE_GOLDEN();
  size_t inputs = 0;
  for (const auto& name : golden_cases("", "t5")) {
    json c = read_json(golden_dir() / name / "cases.json");
    auto tok = tk::Tokenizer::from_dir(golden_dir() / name);
    size_t max_length = c.at("pipeline").at("max_length").get<size_t>();
    for (const auto& in : c.at("inputs")) {
      std::string what = name + "/" + in.at("id").get<std::string>();
      expect_matches(*tok, in.at("model_input_string").get<std::string>(), in.at("input_ids"),
                     in.at("tokens"), max_length, what);
      expect_matches(*tok, in.at("class_input_string").get<std::string>(), in.at("class_input_ids"),
                     in.at("class_tokens"), max_length, what + " (labels)");
      ++inputs;
    }
  }
  EXPECT_GT(inputs, 0u);
}

// ---- offsets ---------------------------------------------------------------------

TEST(TokenizerOffsets, SpansLieInTheInputAndAddedTokensMapToTheirText) {
  GLICLASS_REQUIRE_GOLDEN();
  for (const char* name : {"tiny-deberta-spm", "tiny-t5-spm"}) {
    fs::path dir = tokenizer_dir(name);
    auto added = added_contents(dir);
    std::string unk = read_json(dir / "tokenizer_config.json").at("unk_token").get<std::string>();
    std::vector<std::unique_ptr<tk::Tokenizer>> toks;
    toks.push_back(tk::load_sentencepiece(dir));
    if (fs::exists(dir / "tokenizer.json")) toks.push_back(tk::load_tokenizer_json(dir));
    json goldens = read_json(dir / "token_goldens.json");
    for (const auto& tok : toks)
      for (const auto& s : goldens.at("strings"))
        expect_sane_offsets(*tok, s.at("text").get<std::string>(), added, unk);
  }
  auto spm = tk::load_sentencepiece(tokenizer_dir("tiny-deberta-spm"));
  std::string text = "I love it<<LABEL>>positive<<LABEL>>neg<<SEP>>";
  auto enc = spm->encode(text);
  size_t labels = 0;
  for (size_t i = 0; i < enc.size(); ++i) {
    if (enc.tokens[i] != "<<LABEL>>") continue;
    EXPECT_EQ(text.substr(enc.begin[i], enc.end[i] - enc.begin[i]), "<<LABEL>>");
    ++labels;
  }
  EXPECT_EQ(labels, 2u);
  EXPECT_EQ(enc.end.back(), text.size());
}

// ---- added tokens ---------------------------------------------------------------

TEST(TokenizerAddedTokens, SplitsLeftmostLongest) {
  tk::AddedVocabulary v({{"<<SEP>>", 10}, {"<<SEP>>>", 11}, {"SEP", 12}, {"<<", 13}});
  std::string text = "a<<SEP>>>b<<SEPc";
  auto segs = v.split(text);
  ASSERT_EQ(segs.size(), 6u);
  EXPECT_EQ(segs[0].token, nullptr);
  EXPECT_EQ(text.substr(segs[0].begin, segs[0].end - segs[0].begin), "a");
  ASSERT_NE(segs[1].token, nullptr);
  EXPECT_EQ(segs[1].token->id, 11);  // the longer of the two at the same start
  EXPECT_EQ(text.substr(segs[2].begin, segs[2].end - segs[2].begin), "b");
  EXPECT_EQ(segs[3].token->id, 13);  // "<<" starts before "SEP"
  EXPECT_EQ(segs[4].token->id, 12);
  EXPECT_EQ(text.substr(segs[5].begin, segs[5].end - segs[5].begin), "c");
}

TEST(TokenizerAddedTokens, StripFlagsEatNeighbouringWhitespace) {
  tk::AddedToken mask{"[MASK]", 5};
  mask.lstrip = true;
  tk::AddedToken extra{"<x>", 6};
  extra.rstrip = true;
  tk::AddedVocabulary v({mask, extra});
  std::string text = "a \t[MASK] b<x>  \xC2\xA0" "c";
  auto segs = v.split(text);
  ASSERT_EQ(segs.size(), 5u);
  EXPECT_EQ(text.substr(segs[0].begin, segs[0].end - segs[0].begin), "a");
  EXPECT_EQ(text.substr(segs[2].begin, segs[2].end - segs[2].begin), " b");  // no rstrip on [MASK]
  EXPECT_EQ(text.substr(segs[4].begin, segs[4].end - segs[4].begin), "c");   // NBSP is whitespace
  // Whitespace-only neighbours vanish entirely; no empty segments remain.
  auto only = v.split("  [MASK]<x>   ");
  ASSERT_EQ(only.size(), 2u);
  EXPECT_TRUE(only[0].token && only[1].token);
}

TEST(TokenizerAddedTokens, SingleWordTokensMatchOnlyWholeWords) {
  tk::AddedToken word{"cat", 7};
  word.single_word = true;
  tk::AddedVocabulary v({word});
  EXPECT_EQ(v.split("concatenate").size(), 1u);
  auto segs = v.split("a cat!");
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[1].token->id, 7);
}

TEST(TokenizerAddedTokens, MergeKeepsFirstDeclarationAndFillsIds) {
  std::vector<tk::AddedToken> high = {{"[MASK]", 100}};
  high[0].lstrip = true;
  std::vector<tk::AddedToken> low = {{"[MASK]", -1}, {"[CLS]", -1}, {"<new>", -1}};
  low[1].special = true;
  auto merged = tk::merge_added_tokens(
      {high, low}, [](std::string_view s) -> std::optional<int64_t> {
        if (s == "[CLS]") return 1;
        return std::nullopt;
      },
      50);
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].id, 100);
  EXPECT_TRUE(merged[0].lstrip);
  EXPECT_EQ(merged[1].id, 1);       // from the model's own pieces
  EXPECT_TRUE(merged[1].special);
  EXPECT_EQ(merged[2].id, 101);     // appended after the largest id
}

// ---- truncation ------------------------------------------------------------------

TEST(TokenizerTruncation, CutsTheRightKeepingSpecialTokens) {
  GLICLASS_REQUIRE_GOLDEN();
  auto tok = tk::Tokenizer::from_dir(tokenizer_dir("tiny-deberta-spm"));
  std::string text = "<<LABEL>>positive<<LABEL>>negative<<SEP>>The quick brown fox jumps over the lazy dog.";
  auto full = tok->encode_with_special_tokens(text);
  auto body = tok->encode(text).ids;
  ASSERT_EQ(full.size(), body.size() + 2);
  EXPECT_EQ(tok->encode_with_special_tokens(text, full.size()), full);
  EXPECT_EQ(tok->encode_with_special_tokens(text, 1000), full);
  for (size_t max_length : {size_t{3}, size_t{10}, full.size() - 1}) {
    auto cut = tok->encode_with_special_tokens(text, max_length);
    ASSERT_EQ(cut.size(), max_length);
    EXPECT_EQ(cut.front(), tok->prefix_ids()[0]);
    EXPECT_EQ(cut.back(), tok->suffix_ids()[0]);
    EXPECT_TRUE(std::equal(cut.begin() + 1, cut.end() - 1, body.begin()));
  }
  // Shorter than the special tokens: nothing of the text is left.
  EXPECT_EQ(tok->encode_with_special_tokens(text, 1).size(), 2u);
}

// ---- concurrency -----------------------------------------------------------------

TEST(TokenizerThreads, ConcurrentEncodeGivesTheSerialResults) {
  GLICLASS_REQUIRE_GOLDEN();
  auto tok = tk::Tokenizer::from_dir(tokenizer_dir("tiny-deberta-spm"));
  json goldens = read_json(tokenizer_dir("tiny-deberta-spm") / "token_goldens.json");
  std::vector<std::string> texts;
  for (const auto& s : goldens.at("strings")) texts.push_back(s.at("text").get<std::string>());
  std::vector<std::vector<int64_t>> serial;
  for (const auto& t : texts) serial.push_back(tok->encode_with_special_tokens(t));
  std::atomic<size_t> mismatches{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 8; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < 20; ++round)
        for (size_t i = (w * 7) % texts.size(), k = 0; k < texts.size(); ++k, i = (i + 1) % texts.size())
          if (tok->encode_with_special_tokens(texts[i]) != serial[i]) ++mismatches;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0u);
}

// ---- errors ----------------------------------------------------------------------

TEST(TokenizerErrors, MissingFilesNameTheDirectoryAndWhatWasLookedFor) {
  TempDir dir;
  std::string msg = model_error_of([&] { tk::Tokenizer::from_dir(dir.path); });
  EXPECT_TRUE(contains(msg, dir.path.string())) << msg;
  EXPECT_TRUE(contains(msg, "tokenizer.json") && contains(msg, "spm.model") && contains(msg, "spiece.model")) << msg;

  dir.write("vocab.txt", "[PAD]\n[UNK]\n");
  msg = model_error_of([&] { tk::Tokenizer::from_dir(dir.path); });
  EXPECT_TRUE(contains(msg, "vocab.txt")) << msg;

  msg = model_error_of([&] { tk::Tokenizer::from_dir(dir.path / "nope"); });
  EXPECT_TRUE(contains(msg, "does not exist")) << msg;
  msg = model_error_of([&] { tk::load_sentencepiece(dir.path); });
  EXPECT_TRUE(contains(msg, "spm.model")) << msg;
  msg = model_error_of([&] { tk::load_tokenizer_json(dir.path); });
  EXPECT_TRUE(contains(msg, "tokenizer.json")) << msg;
}

TEST(TokenizerErrors, CorruptSentencePieceModel) {
  GLICLASS_REQUIRE_GOLDEN();
  std::string good = read_bytes(tokenizer_dir("tiny-deberta-spm") / "spm.model");
  std::mt19937 rng(7);
  std::string noise(4096, '\0');
  for (auto& c : noise) c = static_cast<char>(rng() & 0xFF);
  for (const std::string& bytes : {std::string(), noise, good.substr(0, good.size() / 2),
                                   std::string("not a model at all\n")}) {
    TempDir dir;
    dir.write("spm.model", bytes);
    std::string msg = model_error_of([&] { tk::Tokenizer::from_dir(dir.path); });
    EXPECT_TRUE(contains(msg, "spm.model")) << msg;
  }
}

TEST(TokenizerErrors, MalformedTokenizerJson) {
  GLICLASS_REQUIRE_GOLDEN();
  json good = read_json(tokenizer_dir("tiny-deberta-spm") / "tokenizer.json");
  struct Case {
    std::string text;
    std::vector<std::string> expect;  // substrings of the message
  };
  std::vector<Case> cases;
  cases.push_back({"{\"model\": ", {"tokenizer.json", "not valid JSON"}});
  cases.push_back({"[1, 2, 3]", {"tokenizer.json", "model"}});
  json no_model = good;
  no_model.erase("model");
  cases.push_back({no_model.dump(), {"tokenizer.json", "\"model\""}});
  json word_level = good;  // a model type we do not run: named, with the supported ones
  word_level["model"] = {{"type", "WordLevel"}, {"vocab", json::object()}};
  cases.push_back({word_level.dump(), {"WordLevel", "Unigram"}});
  json bad_vocab = good;
  bad_vocab["model"]["vocab"][5] = "oops";
  cases.push_back({bad_vocab.dump(), {"vocab[5]", "[piece, score]"}});
  json bad_unk = good;
  bad_unk["model"]["unk_id"] = 100000;
  cases.push_back({bad_unk.dump(), {"unk_id"}});
  json lower = good;
  lower["normalizer"]["normalizers"].push_back({{"type", "Lowercase"}});
  cases.push_back({lower.dump(), {"Lowercase", "not supported"}});
  json bad_b64 = good;
  bad_b64["normalizer"]["normalizers"][1]["precompiled_charsmap"] = "@@@@";
  cases.push_back({bad_b64.dump(), {"base64"}});
  json bad_template = good;
  bad_template["post_processor"]["single"][0]["SpecialToken"]["id"] = "[NOPE]";
  cases.push_back({bad_template.dump(), {"[NOPE]"}});
  json dup = good;
  dup["model"]["vocab"][6] = dup["model"]["vocab"][5];
  cases.push_back({dup.dump(), {"tokenizer.json"}});
  for (const auto& c : cases) {
    TempDir dir;
    dir.write("tokenizer.json", c.text);
    std::string msg = model_error_of([&] { tk::Tokenizer::from_dir(dir.path); });
    for (const auto& e : c.expect) EXPECT_TRUE(contains(msg, e)) << "message: " << msg;
  }
}

TEST(TokenizerErrors, BrokenConfigFilesAndUnsupportedSlowOptions) {
  GLICLASS_REQUIRE_GOLDEN();
  fs::path src = tokenizer_dir("tiny-deberta-spm");
  {
    TempDir dir;
    dir.copy_from(src, "spm.model");
    dir.write("added_tokens.json", "{\"<<LABEL>>\": \"x\"}");
    std::string msg = model_error_of([&] { tk::Tokenizer::from_dir(dir.path); });
    EXPECT_TRUE(contains(msg, "added_tokens.json")) << msg;
  }
  {
    TempDir dir;
    dir.copy_from(src, "spm.model");
    dir.write("tokenizer_config.json", "{\"do_lower_case\": true, \"tokenizer_class\": \"DebertaV2Tokenizer\"}");
    std::string msg = model_error_of([&] { tk::Tokenizer::from_dir(dir.path); });
    EXPECT_TRUE(contains(msg, "do_lower_case")) << msg;
  }
  {
    TempDir dir;
    dir.copy_from(src, "spm.model");
    dir.write("special_tokens_map.json", "{\"cls_token\": ");
    std::string msg = model_error_of([&] { tk::Tokenizer::from_dir(dir.path); });
    EXPECT_TRUE(contains(msg, "special_tokens_map.json")) << msg;
  }
}
