// Byte-level BPE from tokenizer.json against the HF tokenizers Rust core
// (token goldens with offsets, every modernbert case's input_ids), the
// pieces it is built from (regex, NFC alignment, byte-level alphabet, BPE
// options), offsets as a property, and the errors for what it cannot load.
#include <gtest/gtest.h>
#include <utf8proc.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <unistd.h>

#include "gliclass/error.h"
#include "test_util.h"
#include "tokenize/byte_level.h"
#include "tokenize/normalizers.h"
#include "tokenize/pre_tokenizers.h"
#include "tokenize/regex.h"
#include "tokenize/tokenizer.h"
#include "tokenize/tokenizer_json.h"

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

const char kBpeDir[] = "tiny-modernbert-bpe";

// Byte offset of every code point index (and of the end) of `text`.
std::vector<size_t> code_point_offsets(const std::string& text) {
  std::vector<size_t> out;
  for (size_t pos = 0, n = 0; pos < text.size(); pos += n) {
    out.push_back(pos);
    tk::utf8_char_at(text, pos, &n);
  }
  out.push_back(text.size());
  return out;
}

// The bytes a byte-level token string stands for.
std::string byte_level_decode(const std::string& token) {
  std::string out;
  for (size_t pos = 0, n = 0; pos < token.size(); pos += n) {
    auto b = tk::byte_level_byte(tk::utf8_char_at(token, pos, &n));
    if (!b) return token;  // not a byte-level string (an added token)
    out.push_back(static_cast<char>(*b));
  }
  return out;
}

// utf8proc over the whole string at once (with its length: some texts hold NUL).
std::string utf8proc_whole(const std::string& text, int options) {
  utf8proc_uint8_t* out = nullptr;
  auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                        static_cast<utf8proc_ssize_t>(text.size()), &out,
                        static_cast<utf8proc_option_t>(UTF8PROC_STABLE | options));
  std::string r = n < 0 ? std::string() : std::string(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  std::free(out);
  return r;
}
std::string nfc(const std::string& s) { return utf8proc_whole(s, UTF8PROC_COMPOSE); }

// Offsets as a property: inside the text, on character boundaries, starts in
// order; and cutting the text before a token that starts with a space
// (after a non-space) gives the same tokens on both sides: pre-tokenisation
// never joins across such a space, so the tokens are local. Returns the
// number of cuts checked.
size_t expect_offset_properties(const tk::Tokenizer& tok, const std::string& text) {
  size_t cuts = 0;
  auto enc = tok.encode(text);
  EXPECT_EQ(enc.begin.size(), enc.size());
  EXPECT_EQ(enc.end.size(), enc.size());
  if (enc.begin.size() != enc.size() || enc.end.size() != enc.size()) return 0;
  auto boundary = [&](size_t at) {
    return at == text.size() || (static_cast<unsigned char>(text[at]) & 0xC0) != 0x80;
  };
  for (size_t i = 0; i < enc.size(); ++i) {
    EXPECT_LE(enc.begin[i], enc.end[i]) << text << " token " << i;
    EXPECT_LE(enc.end[i], text.size()) << text << " token " << i;
    EXPECT_TRUE(boundary(enc.begin[i]) && boundary(enc.end[i])) << text << " token " << i;
    if (i > 0) {
      EXPECT_GE(enc.begin[i], enc.begin[i - 1]) << text << " token " << i;
    }
  }
  for (size_t k = 1; k < enc.size(); ++k) {
    size_t cut = enc.begin[k];
    if (cut == 0 || cut >= text.size() || text[cut] != ' ' || enc.end[k - 1] != cut ||
        text[cut - 1] == ' ' || text[cut - 1] == '\n' || text[cut - 1] == '\t')
      continue;
    auto left = tok.encode(text.substr(0, cut));
    auto right = tok.encode(text.substr(cut));
    EXPECT_EQ(left.ids, std::vector<int64_t>(enc.ids.begin(), enc.ids.begin() + k)) << text << " cut " << cut;
    EXPECT_EQ(right.ids, std::vector<int64_t>(enc.ids.begin() + k, enc.ids.end())) << text << " cut " << cut;
    for (size_t i = 0; i < right.size() && k + i < enc.size(); ++i)
      EXPECT_EQ(right.begin[i] + cut, enc.begin[k + i]) << text << " cut " << cut;
    ++cuts;
  }
  return cuts;
}

// Contents of the added tokens by id (tokenizer_config.json).
std::map<int64_t, std::string> added_by_id(const fs::path& dir) {
  std::map<int64_t, std::string> out;
  json config = read_json(dir / "tokenizer_config.json");
  for (const auto& [id, decl] : config.at("added_tokens_decoder").items())
    out[std::stoll(id)] = decl.at("content").get<std::string>();
  return out;
}

json modernbert_json() { return read_json(tokenizer_dir(kBpeDir) / "tokenizer.json"); }

std::unique_ptr<tk::Tokenizer> load_json_text(const TempDir& dir, const json& doc) {
  dir.write("tokenizer.json", doc.dump());
  return tk::Tokenizer::from_dir(dir.path);
}

}  // namespace

// ---- the Rust core's goldens ------------------------------------------------------

TEST(BpeGoldens, ModernBertTokenizerJsonMatchesRustCore) {
  GLICLASS_REQUIRE_GOLDEN();
  fs::path dir = tokenizer_dir(kBpeDir);
  auto tok = tk::Tokenizer::from_dir(dir);
  auto added = added_by_id(dir);
  json goldens = read_json(dir / "token_goldens.json");
  size_t strings = 0, offsets_checked = 0;
  for (const auto& s : goldens.at("strings")) {
    std::string text = s.at("text").get<std::string>();
    auto want_ids = s.at("ids").get<std::vector<int64_t>>();
    EXPECT_EQ(tok->encode_with_special_tokens(text), want_ids) << text;
    // The body: tokens (added tokens by content, as convert_ids_to_tokens
    // shows them) and offsets, code points -> bytes.
    auto enc = tok->encode(text);
    size_t pre = tok->prefix_ids().size(), suf = tok->suffix_ids().size();
    ASSERT_EQ(enc.size() + pre + suf, want_ids.size()) << text;
    auto cps = code_point_offsets(text);
    const bool nfc_invariant = nfc(text) == text;
    for (size_t i = 0; i < enc.size(); ++i) {
      const json& g = s.at("tokens")[pre + i];
      auto it = added.find(want_ids[pre + i]);
      EXPECT_EQ(enc.tokens[i], it != added.end() ? it->second : g.get<std::string>()) << text << " token " << i;
      if (!nfc_invariant) continue;  // NFC composed characters: see NfcKeepsTheWholeClusterInOffsets
      const json& off = s.at("offsets")[pre + i];
      EXPECT_EQ(enc.begin[i], cps.at(off[0].get<size_t>())) << text << " token " << i;
      EXPECT_EQ(enc.end[i], cps.at(off[1].get<size_t>())) << text << " token " << i;
      ++offsets_checked;
    }
    ++strings;
  }
  EXPECT_GT(strings, 150u);
  EXPECT_GT(offsets_checked, 1000u);
  std::cout << "[ bpe ] " << strings << " strings, " << offsets_checked << " token offsets equal\n";
}

TEST(BpeCases, ModernBertCasesReproduceInputIds) {
  GLICLASS_REQUIRE_GOLDEN();
  size_t cases = 0, inputs = 0;
  for (const auto& name : golden_cases("", "modernbert")) {
    json c = read_json(golden_dir() / name / "cases.json");
    auto tok = tk::Tokenizer::from_dir(golden_dir() / name);
    size_t max_length = c.at("pipeline").at("max_length").get<size_t>();
    for (const auto& in : c.at("inputs")) {
      std::string text = in.at("model_input_string").get<std::string>();
      std::string what = name + "/" + in.at("id").get<std::string>();
      EXPECT_EQ(tok->encode_with_special_tokens(text, max_length), in.at("input_ids").get<std::vector<int64_t>>())
          << what;
      auto want = in.at("tokens").get<std::vector<std::string>>();
      auto enc = tok->encode(text);
      size_t body = want.size() - tok->prefix_ids().size() - tok->suffix_ids().size();
      ASSERT_LE(body, enc.size()) << what;
      EXPECT_EQ(std::vector<std::string>(enc.tokens.begin(), enc.tokens.begin() + body),
                std::vector<std::string>(want.begin() + 1, want.begin() + 1 + body))
          << what;
      ++inputs;
    }
    auto batch_ids = c.at("batch").at("input_ids");
    auto mask = c.at("batch").at("attention_mask");
    auto ids = c.at("batch").at("ids");
    for (size_t b = 0; b < ids.size(); ++b) {  // the padded batch holds the same ids
      const json* input = nullptr;
      for (const auto& in : c.at("inputs"))
        if (in.at("id") == ids[b]) input = &in;
      ASSERT_NE(input, nullptr);
      auto row = batch_ids[b].get<std::vector<int64_t>>();
      auto m = mask[b].get<std::vector<int64_t>>();
      row.resize(static_cast<size_t>(std::count(m.begin(), m.end(), 1)));
      EXPECT_EQ(tok->encode_with_special_tokens(input->at("model_input_string").get<std::string>(), max_length), row)
          << name << " batch row " << b;
    }
    ++cases;
  }
  EXPECT_GT(cases, 0u);
  EXPECT_GT(inputs, 0u);
  std::cout << "[ bpe ] " << cases << " modernbert cases, " << inputs << " inputs\n";
}

TEST(BpeOffsets, EveryGoldenStringHasLocalConsistentOffsets) {
  GLICLASS_REQUIRE_GOLDEN();
  auto tok = tk::Tokenizer::from_dir(tokenizer_dir(kBpeDir));
  json goldens = read_json(tokenizer_dir(kBpeDir) / "token_goldens.json");
  size_t cuts = 0;
  for (const auto& s : goldens.at("strings")) {
    std::string text = s.at("text").get<std::string>();
    cuts += expect_offset_properties(*tok, text);
    // The tokens spell the (NFC) text back, byte for byte, outside added tokens;
    // a token of whole characters spells exactly its own slice.
    auto enc = tok->encode(text);
    std::string spelled;
    for (size_t i = 0; i < enc.size(); ++i) {
      std::string bytes = byte_level_decode(enc.tokens[i]);
      spelled += bytes;
      std::string slice = text.substr(enc.begin[i], enc.end[i] - enc.begin[i]);
      if (nfc(text) == text) {
        EXPECT_TRUE(contains(slice, bytes) || contains(bytes, slice)) << text << " token " << i;
      }
    }
    if (nfc(text) == text && !contains(text, "[MASK]")) {
      EXPECT_EQ(spelled, text);
    }
  }
  EXPECT_GT(cuts, 100u);
}

// ---- the parts --------------------------------------------------------------------

TEST(BpeParts, Gpt2RegexSplitsLikeTheReference) {
  tk::Regex re(tk::kGpt2Pattern, "test");
  std::string text = "I've  got 12 apples, y'all!\n\n  ok\xC2\xA0x";
  std::vector<std::string> pieces;
  for (const auto& [b, e] : re.find_all(text)) pieces.push_back(text.substr(b, e - b));
  std::vector<std::string> want = {"I", "'ve", " ", " got", " 12", " apples", ",", " y", "'", "all",
                                   "!", "\n\n ", " ok", "\xC2\xA0", "x"};
  EXPECT_EQ(pieces, want);
  // Malformed UTF-8 never matches and is not lost: it lies between matches.
  std::string bad = "ab\xFF" "cd";
  auto m = re.find_all(bad);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0], std::make_pair(size_t{0}, size_t{2}));
  EXPECT_EQ(m[1], std::make_pair(size_t{3}, size_t{5}));
  EXPECT_TRUE(contains(model_error_of([] { tk::Regex("(unclosed", "where.json"); }), "where.json"));
}

TEST(BpeParts, ByteLevelAlphabetIsABijection) {
  std::set<std::string> seen;
  for (unsigned b = 0; b < 256; ++b) {
    const std::string& c = tk::byte_level_char(static_cast<uint8_t>(b));
    seen.insert(c);
    size_t n = 0;
    EXPECT_EQ(tk::byte_level_byte(tk::utf8_char_at(c, 0, &n)), static_cast<uint8_t>(b));
    EXPECT_EQ(n, c.size());
  }
  EXPECT_EQ(seen.size(), 256u);
  EXPECT_EQ(tk::byte_level_char(' '), "\xC4\xA0");  // Ġ
  EXPECT_EQ(tk::byte_level_char('A'), "A");
  EXPECT_FALSE(tk::byte_level_byte(U'\u4E00'));
}

TEST(BpeParts, ClusterwiseNormalisationEqualsWholeString) {
  std::vector<std::string> texts = {
      "cafe\xCC\x81", "A\xCC\x8A\xCC\xA7x",                      // reordered marks
      "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8 \xEA\xB0\x80\xE1\x86\xA8",  // Hangul L V T, LV + T
      "\xE0\xAD\x87\xE0\xAC\xBE",                                  // Oriya vowel signs compose (two starters)
      "\xE2\x84\xAB \xEF\xAC\x81 \xE2\x91\xA0 \xC2\xBD",           // Å ﬁ ① ½
      "\xCC\x81leading mark", "I\xCC\x87stanbul", "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD"};
  if (gliclass::testing::have_golden()) {
    json goldens = read_json(tokenizer_dir(kBpeDir) / "token_goldens.json");
    for (const auto& s : goldens.at("strings")) texts.push_back(s.at("text").get<std::string>());
  }
  for (const auto& text : texts) {
    using Form = tk::UnicodeForm;
    const std::pair<Form, int> forms[] = {{Form::kNFC, UTF8PROC_COMPOSE},
                                          {Form::kNFD, UTF8PROC_DECOMPOSE},
                                          {Form::kNFKC, UTF8PROC_COMPOSE | UTF8PROC_COMPAT},
                                          {Form::kNFKD, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT}};
    for (auto [form, options] : forms) {
      std::string want = utf8proc_whole(text, options);
      auto got = tk::unicode_normalize(tk::NormalizedText::from_input(text), form);
      EXPECT_EQ(got.text, want) << text;
      ASSERT_EQ(got.spans.size(), got.text.size());
      for (size_t i = 1; i < got.spans.size(); ++i) {
        EXPECT_GE(got.spans[i].begin, got.spans[i - 1].begin) << text;
      }
    }
  }
}

TEST(BpeParts, NfcKeepsTheWholeClusterInOffsets) {
  GLICLASS_REQUIRE_GOLDEN();
  auto tok = tk::Tokenizer::from_dir(tokenizer_dir(kBpeDir));
  std::string decomposed = "cafe\xCC\x81 ok";  // e + U+0301 -> é
  auto enc = tok->encode(decomposed);
  auto composed = tok->encode("caf\xC3\xA9 ok");
  EXPECT_EQ(enc.ids, composed.ids);
  // The bytes of é (two byte-level tokens or one) cover e and the accent: [3, 6).
  size_t covered = 0;
  for (size_t i = 0; i < enc.size(); ++i)
    if (enc.begin[i] == 3) {
      EXPECT_EQ(enc.end[i], 6u);
      ++covered;
    }
  EXPECT_GE(covered, 1u);
  EXPECT_EQ(enc.end.back(), decomposed.size());
}

// A toy vocabulary, hand-checked: RoBERTa-like ByteLevel with a prefix space.
json toy_bpe() {
  json vocab = json::object();
  int64_t id = 0;
  for (unsigned b = 0; b < 256; ++b) vocab[tk::byte_level_char(static_cast<uint8_t>(b))] = id++;
  for (const char* t : {"\xC4\xA0l", "ow", "\xC4\xA0low", "er", "\xC4\xA0lower", "<s>", "</s>"}) vocab[t] = id++;
  json doc = {{"version", "1.0"},
              {"added_tokens", json::array({{{"id", 261}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                                            {{"id", 262}, {"content", "</s>"}, {"special", true}, {"normalized", false}}})},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}},
              {"post_processor", {{"type", "RobertaProcessing"}, {"sep", {"</s>", 262}}, {"cls", {"<s>", 261}}}},
              {"model",
               {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"vocab", vocab},
                {"merges", {"\xC4\xA0 l", "o w", "\xC4\xA0l ow", "e r", "\xC4\xA0low er"}}}}};
  return doc;
}

TEST(BpeParts, MergesByRankWithPrefixSpaceAndEitherMergeSpelling) {
  TempDir dir;
  json doc = toy_bpe();
  auto tok = load_json_text(dir, doc);
  const int64_t lower = 260, low = 258;
  auto enc = tok->encode("lower low lowest");
  // " lowest": Ġl, ow, Ġlow by rank; no merge continues with e, s, t.
  std::vector<int64_t> want = {lower, low, low, 'e', 's', 't'};  // vocab ids: bytes in order
  EXPECT_EQ(enc.ids, want);
  EXPECT_EQ(enc.tokens[0], "\xC4\xA0lower");
  EXPECT_EQ(enc.begin[0], 0u);  // the added prefix space covers nothing
  EXPECT_EQ(enc.end[0], 5u);
  EXPECT_EQ(enc.begin[1], 5u);  // " low": the real space and the word
  EXPECT_EQ(enc.end[1], 9u);
  EXPECT_EQ(tok->prefix_ids(), std::vector<int64_t>{261});
  EXPECT_EQ(tok->suffix_ids(), std::vector<int64_t>{262});
  // Merges as [left, right] pairs: the same tokens.
  json pairs = doc;
  pairs["model"]["merges"] = json::array();
  for (const auto& m : doc["model"]["merges"]) {
    std::string s = m.get<std::string>();
    size_t sp = s.find(' ');
    pairs["model"]["merges"].push_back({s.substr(0, sp), s.substr(sp + 1)});
  }
  TempDir dir2;
  EXPECT_EQ(load_json_text(dir2, pairs)->encode("lower low lowest").ids, enc.ids);
  // ignore_merges: a piece in the vocabulary is taken whole even without its merges.
  json ignore = doc;
  ignore["model"]["merges"] = json::array();
  ignore["model"]["ignore_merges"] = true;
  TempDir dir3;
  EXPECT_EQ(load_json_text(dir3, ignore)->encode("lower").ids, std::vector<int64_t>{lower});
  // Added tokens are cut out before the prefix space is added to each part.
  auto split = tok->encode("<s>lower</s>");
  EXPECT_EQ(split.ids, (std::vector<int64_t>{261, lower, 262}));
}

TEST(BpeParts, UnknownCharactersFuseOrFallBackToBytes) {
  // A character-level BPE (no byte-level): Whitespace pre-tokenizer, unk token.
  json vocab = {{"<unk>", 0}, {"a", 1}, {"b", 2}, {"ab", 3}, {"<0xC3>", 4}, {"<0xA9>", 5}};
  json doc = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b"}}, {"unk_token", "<unk>"}}},
              {"pre_tokenizer", {{"type", "Whitespace"}}}};
  TempDir d1;
  EXPECT_EQ(load_json_text(d1, doc)->encode("abxyb").ids, (std::vector<int64_t>{3, 0, 0, 2}));
  doc["model"]["fuse_unk"] = true;
  TempDir d2;
  auto fused = load_json_text(d2, doc)->encode("abxyb");
  EXPECT_EQ(fused.ids, (std::vector<int64_t>{3, 0, 2}));
  EXPECT_EQ(fused.begin[1], 2u);
  EXPECT_EQ(fused.end[1], 4u);
  doc["model"]["byte_fallback"] = true;
  TempDir d3;
  EXPECT_EQ(load_json_text(d3, doc)->encode("a\xC3\xA9").ids, (std::vector<int64_t>{1, 4, 5}));
  // Without an unk token an unknown character is dropped (as HF does).
  doc["model"]["unk_token"] = nullptr;
  doc["model"]["byte_fallback"] = false;
  TempDir d4;
  // (the neighbours then meet and merge)
  EXPECT_EQ(load_json_text(d4, doc)->encode("axb").ids, (std::vector<int64_t>{3}));
}

TEST(BpeParts, NormalizersAndPreTokenizersCompose) {
  GLICLASS_REQUIRE_GOLDEN();
  json doc = modernbert_json();
  // Lowercase + NFKC; Split on digits (Isolated) then ByteLevel without its regex.
  doc["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFKC"}}, {{"type", "Lowercase"}}}}};
  doc["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", "\\p{N}"}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  TempDir dir;
  auto tok = load_json_text(dir, doc);
  auto reference = tk::Tokenizer::from_dir(tokenizer_dir(kBpeDir));
  // "ＡＢ12" -> NFKC "AB12" -> "ab12": pieces "ab", "1", "2".
  auto enc = tok->encode("\xEF\xBC\xA1\xEF\xBC\xA2" "12");
  std::vector<int64_t> want = reference->encode("ab").ids;
  want.push_back(*reference->token_to_id("1"));
  want.push_back(*reference->token_to_id("2"));
  EXPECT_EQ(enc.ids, want);
  EXPECT_EQ(enc.begin.back(), 7u);  // offsets stay in the original (full-width) text
  EXPECT_EQ(enc.end.back(), 8u);
  EXPECT_EQ(enc.begin.front(), 0u);
}

// ---- errors -------------------------------------------------------------------------

TEST(BpeErrors, UnsupportedTypesNameTheTypeAndTheFile) {
  GLICLASS_REQUIRE_GOLDEN();
  struct Case {
    std::function<void(json&)> edit;
    std::vector<std::string> expect;
  };
  std::vector<Case> cases = {
      {[](json& d) { d["model"]["type"] = "WordLevel"; }, {"WordLevel", "BPE", "WordPiece"}},
      {[](json& d) { d["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", ""}}; },
       {"normalizer", "Precompiled"}},
      {[](json& d) { d["pre_tokenizer"] = {{"type", "UnicodeScripts"}}; }, {"pre_tokenizer", "UnicodeScripts"}},
      {[](json& d) { d["model"]["dropout"] = 0.1; }, {"dropout", "0.1"}},
      {[](json& d) { d["model"]["merges"].push_back("\xC4\xA0 zzzz"); }, {"merge 700", "zzzz", "not in the vocabulary"}},
      {[](json& d) { d["model"]["merges"][3] = {"e", "\xC4\xA0"}; }, {"merge 3", "e\xC4\xA0", "not in the vocabulary"}},
      {[](json& d) { d["model"]["merges"][5] = "nospace"; }, {"merges[5]", "nospace"}},
      {[](json& d) { d["model"]["merges"][6] = 17; }, {"merges[6]"}},
      {[](json& d) { d["model"]["unk_token"] = "<nope>"; }, {"unk_token", "<nope>"}},
      {[](json& d) { d["model"]["vocab"] = json::array(); }, {"vocab", "object"}},
      {[](json& d) {
         d["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
       },
       {"pre_tokenizer", "(unclosed"}},
      {[](json& d) {
         d["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}};
       },
       {"Sideways"}},
  };
  for (const auto& c : cases) {
    json doc = modernbert_json();
    c.edit(doc);
    TempDir dir;
    dir.write("tokenizer.json", doc.dump());
    std::string msg = model_error_of([&] { tk::Tokenizer::from_dir(dir.path); });
    EXPECT_TRUE(contains(msg, (dir.path / "tokenizer.json").string())) << msg;
    for (const auto& e : c.expect) EXPECT_TRUE(contains(msg, e)) << "message: " << msg;
  }
}

TEST(BpeConcurrency, ManyThreadsGetTheSameIds) {
  GLICLASS_REQUIRE_GOLDEN();
  auto tok = tk::Tokenizer::from_dir(tokenizer_dir(kBpeDir));
  std::vector<std::string> texts;
  json goldens = read_json(tokenizer_dir(kBpeDir) / "token_goldens.json");
  for (const auto& s : goldens.at("strings")) texts.push_back(s.at("text").get<std::string>());
  std::vector<std::vector<int64_t>> serial;
  for (const auto& t : texts) serial.push_back(tok->encode_with_special_tokens(t));
  std::atomic<size_t> mismatches{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&, w] {
      for (size_t k = 0; k < texts.size(); ++k) {
        size_t i = (k * 7 + static_cast<size_t>(w) * 13) % texts.size();
        if (tok->encode_with_special_tokens(texts[i]) != serial[i]) ++mismatches;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0u);
}
