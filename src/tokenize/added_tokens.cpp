#include "tokenize/added_tokens.h"

#include <utf8proc.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <unordered_map>

#include "gliclass/error.h"
#include "io/json_limits.h"

namespace gliclass::tokenize {
namespace fs = std::filesystem;
using nlohmann::json;

// ---- UTF-8 helpers ----------------------------------------------------------

bool is_unicode_space(char32_t c) {
  if (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f)) return true;
  if (c < 0x80) return false;
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
  // Python: bidirectional class WS, B or S, or general category Zs.
  return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

namespace {

// Code point starting at byte `pos` (and its length); invalid bytes read as
// themselves, one byte long.
char32_t code_point_at(std::string_view s, size_t pos, size_t* length) {
  utf8proc_int32_t cp = 0;
  auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + pos),
                            static_cast<utf8proc_ssize_t>(s.size() - pos), &cp);
  if (n <= 0) {
    *length = 1;
    return static_cast<unsigned char>(s[pos]);
  }
  *length = static_cast<size_t>(n);
  return static_cast<char32_t>(cp);
}

// Start of the code point that ends right before byte `pos` (pos > 0).
size_t previous_code_point(std::string_view s, size_t pos) {
  size_t p = pos - 1;
  while (p > 0 && pos - p < 4 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
  return p;
}

bool is_word_char(char32_t c) {
  if (c == '_') return true;
  if (c < 0x80) return std::isalnum(static_cast<int>(c)) != 0;
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO;  // letters, marks, numbers
}

size_t trim_left(std::string_view s, size_t begin, size_t end) {
  while (begin < end) {
    size_t n = 0;
    if (!is_unicode_space(code_point_at(s, begin, &n))) break;
    begin += n;
  }
  return begin;
}

size_t trim_right(std::string_view s, size_t begin, size_t end) {
  while (end > begin) {
    size_t p = previous_code_point(s, end);
    size_t n = 0;
    if (!is_unicode_space(code_point_at(s, p, &n))) break;
    end = p;
  }
  return end;
}

}  // namespace

// ---- AddedVocabulary --------------------------------------------------------

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].content.empty()) continue;
    int node = 0;
    for (unsigned char c : tokens_[i].content) {
      auto it = trie_[node].next.find(c);
      if (it == trie_[node].next.end()) {
        trie_.emplace_back();
        int child = static_cast<int>(trie_.size()) - 1;
        trie_[node].next.emplace(c, child);
        node = child;
      } else {
        node = it->second;
      }
    }
    if (trie_[node].token < 0) trie_[node].token = static_cast<int>(i);
  }
}

const AddedToken* AddedVocabulary::find(std::string_view content) const {
  int node = 0;
  for (unsigned char c : content) {
    auto it = trie_[node].next.find(c);
    if (it == trie_[node].next.end()) return nullptr;
    node = it->second;
  }
  return content.empty() || trie_[node].token < 0 ? nullptr : &tokens_[trie_[node].token];
}

int64_t AddedVocabulary::max_id() const {
  int64_t m = -1;
  for (const auto& t : tokens_) m = std::max(m, t.id);
  return m;
}

int AddedVocabulary::match_at(std::string_view text, size_t pos, size_t* length) const {
  int node = 0, best = -1;
  size_t best_len = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    auto it = trie_[node].next.find(static_cast<unsigned char>(text[i]));
    if (it == trie_[node].next.end()) break;
    node = it->second;
    int t = trie_[node].token;
    if (t < 0) continue;
    if (tokens_[t].single_word) {
      // Only as a whole word: no word character touching either end.
      size_t n = 0;
      bool left_ok = pos == 0 || !is_word_char(code_point_at(text, previous_code_point(text, pos), &n));
      bool right_ok = i + 1 == text.size() || !is_word_char(code_point_at(text, i + 1, &n));
      if (!left_ok || !right_ok) continue;
    }
    best = t;
    best_len = i + 1 - pos;
  }
  *length = best_len;
  return best;
}

std::vector<Segment> AddedVocabulary::split(std::string_view text) const {
  std::vector<Segment> raw;
  size_t plain_start = 0, pos = 0;
  while (pos < text.size()) {
    size_t len = 0;
    int t = trie_.size() > 1 ? match_at(text, pos, &len) : -1;
    if (t < 0) {
      ++pos;
      continue;
    }
    if (pos > plain_start) raw.push_back({plain_start, pos, nullptr});
    raw.push_back({pos, pos + len, &tokens_[t]});
    pos += len;
    plain_start = pos;
  }
  if (text.size() > plain_start) raw.push_back({plain_start, text.size(), nullptr});

  // lstrip/rstrip eat the whitespace of the neighbouring plain text.
  for (size_t i = 0; i < raw.size(); ++i) {
    if (!raw[i].token) continue;
    if (raw[i].token->rstrip && i + 1 < raw.size() && !raw[i + 1].token)
      raw[i + 1].begin = trim_left(text, raw[i + 1].begin, raw[i + 1].end);
    if (raw[i].token->lstrip && i > 0 && !raw[i - 1].token)
      raw[i - 1].end = trim_right(text, raw[i - 1].begin, raw[i - 1].end);
  }
  std::vector<Segment> out;
  out.reserve(raw.size());
  for (const auto& s : raw)
    if (s.token || s.end > s.begin) out.push_back(s);
  return out;
}

// ---- reading the config files -----------------------------------------------

namespace {

json read_json_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ModelError("tokenize: cannot open " + file.string());
  try {
    return io::parse_json_bounded<ModelError>(in, "tokenize: " + file.string());
  } catch (const json::exception& e) {
    throw ModelError("tokenize: " + file.string() + " is not valid JSON (" + e.what() + ")");
  }
}

bool flag(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

const char* kSpecialKeys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                              "pad_token", "cls_token", "mask_token"};

// Reads the *_token keys and additional_special_tokens of one JSON object.
void read_special_keys(const json& obj, const std::string& where, TokenizerSettings* names,
                       std::vector<AddedToken>* tokens) {
  std::optional<std::string>* slots[] = {&names->bos, &names->eos, &names->unk, &names->sep,
                                         &names->pad, &names->cls, &names->mask};
  for (size_t k = 0; k < 7; ++k) {
    auto it = obj.find(kSpecialKeys[k]);
    if (it == obj.end() || it->is_null()) continue;
    AddedToken t = parse_added_token(*it, where + " " + kSpecialKeys[k]);
    t.special = true;
    if (!*slots[k]) *slots[k] = t.content;
    tokens->push_back(std::move(t));
  }
  auto extra = obj.find("additional_special_tokens");
  if (extra != obj.end() && extra->is_array()) {
    for (const auto& v : *extra) {
      AddedToken t = parse_added_token(v, where + " additional_special_tokens");
      t.special = true;
      if (std::find(names->additional.begin(), names->additional.end(), t.content) ==
          names->additional.end())
        names->additional.push_back(t.content);
      tokens->push_back(std::move(t));
    }
  }
  auto named = obj.find("extra_special_tokens");  // {name: token}, transformers >= 4.48
  if (named != obj.end() && named->is_object()) {
    for (const auto& [key, v] : named->items()) {
      AddedToken t = parse_added_token(v, where + " extra_special_tokens." + key);
      t.special = true;
      tokens->push_back(std::move(t));
    }
  }
}

}  // namespace

AddedToken parse_added_token(const json& value, const std::string& where) {
  AddedToken t;
  if (value.is_string()) {
    t.content = value.get<std::string>();
    return t;
  }
  auto content = value.is_object() ? value.find("content") : value.end();
  if (!value.is_object() || content == value.end() || !content->is_string())
    throw ModelError("tokenize: " + where + ": expected a token string or {\"content\": ...}, got " +
                     value.dump().substr(0, 80));
  t.content = content->get<std::string>();
  t.lstrip = flag(value, "lstrip");
  t.rstrip = flag(value, "rstrip");
  t.single_word = flag(value, "single_word");
  t.special = flag(value, "special");
  auto id = value.find("id");
  if (id != value.end() && id->is_number_integer()) t.id = id->get<int64_t>();
  return t;
}

TokenConfig read_token_config(const fs::path& dir) {
  TokenConfig cfg;
  std::vector<AddedToken> decoder, special_map, config_keys, added_json;

  fs::path config_file = dir / "tokenizer_config.json";
  if (fs::exists(config_file)) {
    json cfg_json = read_json_file(config_file);
    if (!cfg_json.is_object())
      throw ModelError("tokenize: " + config_file.string() + ": expected a JSON object");
    auto dec = cfg_json.find("added_tokens_decoder");
    if (dec != cfg_json.end() && dec->is_object()) {
      for (const auto& [key, value] : dec->items()) {
        AddedToken t = parse_added_token(value, config_file.string() + " added_tokens_decoder");
        try {
          t.id = std::stoll(key);
        } catch (const std::exception&) {
          throw ModelError("tokenize: " + config_file.string() +
                           ": added_tokens_decoder key is not an id (expected an integer, got \"" +
                           key + "\")");
        }
        decoder.push_back(std::move(t));
      }
    }
    read_special_keys(cfg_json, config_file.string(), &cfg.settings, &config_keys);
    if (auto c = cfg_json.find("tokenizer_class"); c != cfg_json.end() && c->is_string())
      cfg.settings.tokenizer_class = c->get<std::string>();
    auto read_bool = [&](const char* key, std::optional<bool>* slot) {
      auto it = cfg_json.find(key);
      if (it != cfg_json.end() && it->is_boolean()) *slot = it->get<bool>();
    };
    read_bool("add_bos_token", &cfg.settings.add_bos);
    read_bool("add_eos_token", &cfg.settings.add_eos);
    read_bool("legacy", &cfg.settings.legacy);
    read_bool("do_lower_case", &cfg.settings.do_lower_case);
    read_bool("split_by_punct", &cfg.settings.split_by_punct);
  }

  fs::path map_file = dir / "special_tokens_map.json";
  if (fs::exists(map_file)) {
    json map_json = read_json_file(map_file);
    if (!map_json.is_object())
      throw ModelError("tokenize: " + map_file.string() + ": expected a JSON object");
    read_special_keys(map_json, map_file.string(), &cfg.settings, &special_map);
  }

  fs::path added_file = dir / "added_tokens.json";
  if (fs::exists(added_file)) {
    json added = read_json_file(added_file);
    if (!added.is_object())
      throw ModelError("tokenize: " + added_file.string() +
                       ": expected an object {token: id}, got " + added.type_name());
    for (const auto& [content, id] : added.items()) {
      if (!id.is_number_integer())
        throw ModelError("tokenize: " + added_file.string() + ": id of \"" + content +
                         "\" is not an integer");
      AddedToken t;
      t.content = content;
      t.id = id.get<int64_t>();
      added_json.push_back(std::move(t));
    }
  }
  cfg.sources = {std::move(decoder), std::move(special_map), std::move(config_keys),
                 std::move(added_json)};
  return cfg;
}

std::vector<AddedToken> merge_added_tokens(
    const std::vector<std::vector<AddedToken>>& sources,
    const std::function<std::optional<int64_t>(std::string_view)>& model_lookup,
    size_t model_size) {
  std::vector<AddedToken> merged;
  std::unordered_map<std::string, size_t> index;
  for (const auto& source : sources) {
    for (const auto& t : source) {
      if (t.content.empty()) continue;
      auto [it, inserted] = index.emplace(t.content, merged.size());
      if (inserted) {
        merged.push_back(t);
        continue;
      }
      AddedToken& m = merged[it->second];
      if (m.id < 0) m.id = t.id;
      m.special = m.special || t.special;
    }
  }
  int64_t next = static_cast<int64_t>(model_size);
  for (const auto& t : merged) next = std::max(next, t.id + 1);
  for (auto& t : merged) {
    if (t.id >= 0) continue;
    auto id = model_lookup(t.content);
    t.id = id ? *id : next++;
  }
  return merged;
}

}  // namespace gliclass::tokenize
