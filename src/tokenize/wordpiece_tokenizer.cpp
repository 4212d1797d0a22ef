#include "tokenize/wordpiece_tokenizer.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "gliclass/error.h"
#include "io/json_limits.h"
#include "tokenize/pre_tokenizers.h"

namespace gliclass::tokenize {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

NormalizedText lowercase(const NormalizedText& t) {
  return map_chars(t, [](char32_t c, std::string* out) { append_lowercase(c, out); });
}

// _run_strip_accents: NFD, then no nonspacing marks.
NormalizedText strip_accents(const NormalizedText& t) {
  return map_chars(unicode_normalize(t, UnicodeForm::kNFD), [](char32_t c, std::string* out) {
    if (!is_nonspacing_mark(c)) append_utf8(c, out);
  });
}

// _clean_text and _tokenize_chinese_chars: NUL, U+FFFD and control
// characters (C*, but not \t \n \r) go, whitespace (\t \n \r, Zs) becomes
// ' ', CJK ideographs get a space on each side.
NormalizedText clean_text(const NormalizedText& t, bool chinese) {
  return map_chars(t, [chinese](char32_t c, std::string* out) {
    const bool tab_or_newline = c == '\t' || c == '\n' || c == '\r';
    if (c == 0 || c == 0xFFFD || (!tab_or_newline && is_control_category(c))) return;
    if (c == ' ' || tab_or_newline || is_space_separator(c)) {
      out->push_back(' ');
    } else if (chinese && is_cjk_ideograph(c)) {
      out->push_back(' ');
      append_utf8(c, out);
      out->push_back(' ');
    } else {
      append_utf8(c, out);
    }
  });
}

// Python's str.split(): runs of whitespace separate words.
std::vector<NormalizedText> split_whitespace(const NormalizedText& t) {
  std::vector<NormalizedText> words;
  split_piece(t, cover_chars(t.text, &is_unicode_space), SplitBehavior::kRemoved, &words);
  return words;
}

}  // namespace

std::vector<NormalizedText> bert_basic_tokenize(const NormalizedText& text, const BertBasicOptions& options,
                                                std::vector<bool>* whole) {
  std::vector<NormalizedText> out;
  whole->clear();
  if (!options.do_basic_tokenize) {
    out = split_whitespace(text);
    whole->assign(out.size(), false);
    return out;
  }
  NormalizedText t = unicode_normalize(clean_text(text, options.tokenize_chinese_chars), UnicodeForm::kNFC);
  for (NormalizedText& word : split_whitespace(t)) {
    if (options.never_split.count(word.text)) {
      out.push_back(std::move(word));
      whole->push_back(true);
      continue;
    }
    if (options.do_lower_case) {
      word = lowercase(word);
      if (options.strip_accents.value_or(true)) word = strip_accents(word);
    } else if (options.strip_accents.value_or(false)) {
      word = strip_accents(word);
    }
    if (options.never_split.count(word.text)) {
      out.push_back(std::move(word));
      whole->push_back(true);
      continue;
    }
    split_piece(word, cover_chars(word.text, &is_punctuation), SplitBehavior::kIsolated, &out);
    whole->resize(out.size(), false);
  }
  return out;
}

// ---- BertTokenizer ------------------------------------------------------------

BertTokenizer::BertTokenizer(std::unique_ptr<const WordPieceModel> model, AddedVocabulary added,
                             BertBasicOptions options, SpecialIds specials)
    : model_(std::move(model)),
      added_(std::move(added)),
      options_(std::move(options)),
      specials_(std::move(specials)) {}

Encoding BertTokenizer::encode(std::string_view text) const {
  Encoding enc;
  auto push = [&](int64_t id, const std::string& token, Span span) {
    enc.ids.push_back(id);
    enc.tokens.push_back(token);
    enc.begin.push_back(span.begin);
    enc.end.push_back(span.end);
  };
  std::vector<bool> whole;
  std::vector<PieceToken> pieces;
  for (const Segment& s : added_.split(text)) {
    if (s.token) {
      push(s.token->id, s.token->content, Span{s.begin, s.end});
      continue;
    }
    NormalizedText t = NormalizedText::from_input(text.substr(s.begin, s.end - s.begin), s.begin);
    if (options_.do_lower_case) t = lowercase(t);
    std::vector<NormalizedText> words = bert_basic_tokenize(t, options_, &whole);
    for (size_t w = 0; w < words.size(); ++w) {
      const NormalizedText& word = words[w];
      if (whole[w]) {  // never_split: looked up as it is
        auto id = model_->token_to_id(word.text);
        push(id ? *id : model_->unk_id(), id ? word.text : model_->unk_token(),
             word.original(0, word.text.size()));
        continue;
      }
      pieces.clear();
      model_->tokenize(word.text, &pieces);
      for (const auto& p : pieces) push(p.id, model_->id_to_token(p.id), word.original(p.begin, p.end));
    }
  }
  return enc;
}

std::optional<int64_t> BertTokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* t = added_.find(token)) return t->id;
  return model_->token_to_id(token);
}

size_t BertTokenizer::vocab_size() const {
  return std::max<size_t>(model_->size(), static_cast<size_t>(added_.max_id() + 1));
}

// ---- loading vocab.txt --------------------------------------------------------

namespace {

// Lines as Python's text mode reads them (\n, \r\n and \r all end a line).
std::vector<std::pair<std::string, int64_t>> read_vocab(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw ModelError("tokenize: cannot open " + file.string() + " (expected a WordPiece vocab.txt)");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::pair<std::string, int64_t>> vocab;
  std::string line;
  for (size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (c != '\n' && c != '\r') {
      line += c;
      continue;
    }
    if (c == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n') ++i;
    vocab.emplace_back(std::move(line), static_cast<int64_t>(vocab.size()));
    line.clear();
  }
  if (!line.empty()) vocab.emplace_back(std::move(line), static_cast<int64_t>(vocab.size()));
  if (vocab.empty()) throw ModelError("tokenize: " + file.string() + ": the vocabulary is empty");
  return vocab;
}

// BasicTokenizer options from tokenizer_config.json (absent keys: BertTokenizer's defaults).
BertBasicOptions read_basic_options(const fs::path& dir, const TokenizerSettings& settings) {
  BertBasicOptions o;
  o.do_lower_case = settings.do_lower_case.value_or(true);
  fs::path file = dir / "tokenizer_config.json";
  if (!fs::exists(file)) return o;
  json cfg;
  try {
    std::ifstream in(file, std::ios::binary);
    cfg = io::parse_json_bounded<ModelError>(in, "tokenize: " + file.string());
  } catch (const json::exception& e) {
    throw ModelError("tokenize: " + file.string() + " is not valid JSON (" + e.what() + ")");
  }
  auto boolean = [&](const char* key, auto apply) {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) return;
    if (!it->is_boolean())
      throw ModelError("tokenize: " + file.string() + ": " + key + " (expected true, false or null, got " +
                       it->dump() + ")");
    apply(it->get<bool>());
  };
  boolean("strip_accents", [&](bool v) { o.strip_accents = v; });
  boolean("tokenize_chinese_chars", [&](bool v) { o.tokenize_chinese_chars = v; });
  boolean("do_basic_tokenize", [&](bool v) { o.do_basic_tokenize = v; });
  auto never = cfg.find("never_split");
  if (never != cfg.end() && !never->is_null()) {
    if (!never->is_array())
      throw ModelError("tokenize: " + file.string() + ": never_split (expected a list of strings or null)");
    for (const auto& w : *never)
      if (w.is_string()) o.never_split.insert(w.get<std::string>());
  }
  return o;
}

}  // namespace

std::unique_ptr<Tokenizer> load_wordpiece_vocab(const fs::path& dir) {
  const fs::path file = dir / "vocab.txt";
  auto vocab = read_vocab(file);
  TokenConfig config = read_token_config(dir);
  TokenizerSettings& s = config.settings;
  // BertTokenizer's defaults for the special tokens the configs leave out.
  std::vector<AddedToken> defaults;
  auto fill = [&](std::optional<std::string>* slot, const char* name) {
    if (!*slot) *slot = name;
    AddedToken t;
    t.content = **slot;
    t.special = true;
    defaults.push_back(std::move(t));
  };
  fill(&s.unk, "[UNK]");
  fill(&s.sep, "[SEP]");
  fill(&s.pad, "[PAD]");
  fill(&s.cls, "[CLS]");
  fill(&s.mask, "[MASK]");
  config.sources.push_back(std::move(defaults));

  BertBasicOptions options = read_basic_options(dir, s);
  auto model = std::make_unique<const WordPieceModel>(vocab, *s.unk, "##", 100, file.string());
  AddedVocabulary added(merge_added_tokens(
      config.sources, [&](std::string_view t) { return model->token_to_id(t); }, model->size()));
  // BasicTokenizer also keeps the special tokens whole.
  for (const auto& t : added.tokens())
    if (t.special) options.never_split.insert(t.content);
  // The template's tokens must have a real id: in vocab.txt or declared
  // with one (a made-up id would point past the embedding).
  auto id_of = [&](const std::string& name, const char* role) -> int64_t {
    bool known = model->token_to_id(name).has_value();
    for (const auto& source : config.sources)
      for (const auto& t : source) known = known || (t.content == name && t.id >= 0);
    if (known) return added.find(name)->id;  // a declared id wins, as in HF
    throw ModelError("tokenize: " + dir.string() + ": the " + role + " token \"" + name +
                     "\" is not in " + file.string() +
                     " (expected it there or in added_tokens.json / tokenizer_config.json with an id)");
  };
  SpecialIds specials;
  specials.prefix = {id_of(*s.cls, "cls")};
  specials.suffix = {id_of(*s.sep, "sep")};
  specials.pad_id = id_of(*s.pad, "pad");
  return std::make_unique<BertTokenizer>(std::move(model), std::move(added), std::move(options),
                                         std::move(specials));
}

}  // namespace gliclass::tokenize
