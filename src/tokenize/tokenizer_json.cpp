#include "tokenize/tokenizer_json.h"

#include <fstream>

#include "gliclass/error.h"
#include "io/json_limits.h"

namespace gliclass::tokenize {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct ModelType {
  const char* name;
  JsonModelLoader load;
};
// Further model types are further rows.
const ModelType kModelTypes[] = {
    {"Unigram", &load_unigram_json},
    {"BPE", &load_bpe_json},
    {"WordPiece", &load_wordpiece_json},
};

std::string supported_model_types() {
  std::string out;
  for (const auto& m : kModelTypes) out += (out.empty() ? "" : ", ") + std::string(m.name);
  return out;
}

std::vector<int64_t> id_list(const json& value, const std::string& where) {
  std::vector<int64_t> ids;
  if (!value.is_array()) throw ModelError("tokenize: " + where + ": expected a list of ids");
  for (const auto& v : value) {
    if (!v.is_number_integer()) throw ModelError("tokenize: " + where + ": expected integer ids");
    ids.push_back(v.get<int64_t>());
  }
  return ids;
}

// [token, id] pairs of BertProcessing / RobertaProcessing.
int64_t pair_id(const json& pp, const char* key, const std::string& where) {
  const json& pair = json_member(pp, key, where);
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_integer())
    throw ModelError("tokenize: " + where + "." + key + ": expected [token, id], got " +
                     pair.dump().substr(0, 80));
  return pair[1].get<int64_t>();
}

void collect_template(const json& pp, const std::string& where, SpecialIds* ids) {
  if (pp.is_null()) return;
  std::string type = json_string(pp, "type", where);
  if (type == "TemplateProcessing") {
    const json& single = json_member(pp, "single", where);
    const json& specials = json_member(pp, "special_tokens", where);
    if (!single.is_array()) throw ModelError("tokenize: " + where + ".single: expected a list");
    bool after_sequence = false;
    for (const auto& item : single) {
      if (item.is_object() && item.contains("Sequence")) {
        after_sequence = true;
      } else if (item.is_object() && item.contains("SpecialToken")) {
        std::string name = json_string(item["SpecialToken"], "id", where + ".single");
        const json& spec = json_member(specials, name.c_str(), where + ".special_tokens");
        auto list = id_list(json_member(spec, "ids", where + ".special_tokens." + name),
                            where + ".special_tokens." + name + ".ids");
        auto& dst = after_sequence ? ids->suffix : ids->prefix;
        dst.insert(dst.end(), list.begin(), list.end());
      } else {
        throw ModelError("tokenize: " + where + ".single: unexpected item " +
                         item.dump().substr(0, 80));
      }
    }
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    ids->prefix.push_back(pair_id(pp, "cls", where));
    ids->suffix.push_back(pair_id(pp, "sep", where));
  } else if (type == "Sequence") {
    const json& list = json_member(pp, "processors", where);
    if (!list.is_array()) throw ModelError("tokenize: " + where + ".processors: expected a list");
    for (const auto& p : list) collect_template(p, where + ".processors[]", ids);
  } else if (type != "ByteLevel") {
    throw ModelError("tokenize: " + where + ": unsupported post_processor type \"" + type +
                     "\" (supported: TemplateProcessing, BertProcessing, RobertaProcessing, "
                     "ByteLevel, Sequence)");
  }
}

}  // namespace

const json& json_member(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object())
    throw ModelError("tokenize: " + where + ": expected an object with \"" + key + "\", got " +
                     obj.type_name());
  auto it = obj.find(key);
  if (it == obj.end()) throw ModelError("tokenize: " + where + ": missing \"" + key + "\"");
  return *it;
}

std::string json_string(const json& obj, const char* key, const std::string& where) {
  const json& v = json_member(obj, key, where);
  if (!v.is_string())
    throw ModelError("tokenize: " + where + "." + key + ": expected a string, got " + v.type_name());
  return v.get<std::string>();
}

bool json_flag(const json& obj, const char* key, bool fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

std::vector<std::pair<std::string, int64_t>> json_token_ids(const json& model, const std::string& where) {
  const json& vocab_json = json_member(model, "vocab", where);
  if (!vocab_json.is_object())
    throw ModelError("tokenize: " + where + ".vocab: expected an object {token: id}, got " +
                     vocab_json.type_name());
  std::vector<std::pair<std::string, int64_t>> vocab;
  vocab.reserve(vocab_json.size());
  for (const auto& [token, id] : vocab_json.items()) {
    if (!id.is_number_integer())
      throw ModelError("tokenize: " + where + ".vocab: id of \"" + token + "\" is not an integer");
    vocab.emplace_back(token, id.get<int64_t>());
  }
  return vocab;
}

std::string base64_decode(std::string_view text, const std::string& where) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    int v = value(c);
    if (v < 0) throw ModelError("tokenize: " + where + ": invalid base64 character");
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

SpecialIds post_processor_ids(const TokenizerJson& tj) {
  SpecialIds ids;
  auto it = tj.doc.find("post_processor");
  if (it != tj.doc.end()) collect_template(*it, tj.file.string() + " post_processor", &ids);
  return ids;
}

int64_t json_pad_id(const TokenizerJson& tj,
                    const std::function<std::optional<int64_t>(std::string_view)>& lookup) {
  auto padding = tj.doc.find("padding");
  if (padding != tj.doc.end() && padding->is_object()) {
    auto id = padding->find("pad_id");
    if (id != padding->end() && id->is_number_integer()) return id->get<int64_t>();
  }
  if (const auto& pad = tj.config.settings.pad)
    if (auto id = lookup(*pad)) return *id;
  for (const char* name : {"<pad>", "[PAD]"})
    if (auto id = lookup(name)) return *id;
  return 0;
}

std::unique_ptr<Tokenizer> load_tokenizer_json(const fs::path& dir) {
  TokenizerJson tj;
  tj.dir = dir;
  tj.file = dir / "tokenizer.json";
  const std::string where = tj.file.string();
  std::ifstream in(tj.file, std::ios::binary);
  if (!in) throw ModelError("tokenize: cannot open " + where + " (expected a tokenizer.json)");
  try {
    tj.doc = io::parse_json_bounded<ModelError>(in, "tokenize: " + where);
  } catch (const json::exception& e) {
    throw ModelError("tokenize: " + where + " is not valid JSON (" + e.what() + ")");
  }
  const json& model = json_member(tj.doc, "model", where);
  // Files written by old tokenizers versions may omit the type: infer it.
  std::string type = model.is_object() && model.contains("type")
                         ? json_string(model, "type", where + " model")
                         : (model.is_object() && model.contains("merges") ? "BPE" : "");
  auto added = tj.doc.find("added_tokens");
  if (added != tj.doc.end() && !added->is_null()) {
    if (!added->is_array()) throw ModelError("tokenize: " + where + ": added_tokens is not a list");
    for (const auto& a : *added) {
      AddedToken t = parse_added_token(a, where + " added_tokens");
      if (t.id < 0)
        throw ModelError("tokenize: " + where + ": added token \"" + t.content + "\" has no id");
      tj.added.push_back(std::move(t));
    }
  }
  tj.config = read_token_config(dir);
  for (const auto& m : kModelTypes)
    if (type == m.name) return m.load(tj);
  throw ModelError("tokenize: " + where + ": unsupported model type \"" + type +
                   "\" (supported: " + supported_model_types() + ")");
}

}  // namespace gliclass::tokenize
