// tokenizer.json with a BPE model (GPT-2, RoBERTa, ModernBERT, Llama-3,
// Qwen2 layouts): "model": {"vocab": {token: id}, "merges": ["a b" | [a, b]],
// unk_token, continuing_subword_prefix, end_of_word_suffix, fuse_unk,
// byte_fallback, ignore_merges, dropout (must be null)}.
#include "gliclass/error.h"
#include "tokenize/bpe_model.h"
#include "tokenize/tokenizer_json.h"

namespace gliclass::tokenize {
using nlohmann::json;

namespace {

std::optional<std::string> optional_string(const json& model, const char* key, const std::string& where) {
  auto it = model.find(key);
  if (it == model.end() || it->is_null()) return std::nullopt;
  if (!it->is_string())
    throw ModelError("tokenize: " + where + "." + key + ": expected a string or null, got " + it->type_name());
  return it->get<std::string>();
}

bool optional_bool(const json& model, const char* key, const std::string& where) {
  auto it = model.find(key);
  if (it == model.end() || it->is_null()) return false;
  if (!it->is_boolean())
    throw ModelError("tokenize: " + where + "." + key + ": expected true or false, got " + it->dump());
  return it->get<bool>();
}

std::vector<std::pair<std::string, std::string>> read_merges(const json& model, const std::string& where) {
  std::vector<std::pair<std::string, std::string>> merges;
  auto it = model.find("merges");
  if (it == model.end() || it->is_null()) return merges;
  if (!it->is_array()) throw ModelError("tokenize: " + where + ".merges: expected a list");
  merges.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    auto bad = [&] {
      return ModelError("tokenize: " + where + ".merges[" + std::to_string(i) +
                        "]: expected \"left right\" or [left, right], got " + m.dump().substr(0, 80));
    };
    if (m.is_string()) {  // "a b": the first space separates the parts
      const std::string& s = m.get_ref<const std::string&>();
      size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == s.size()) throw bad();
      merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      throw bad();
    }
  }
  return merges;
}

}  // namespace

std::unique_ptr<Tokenizer> load_bpe_json(const TokenizerJson& tj) {
  const std::string where = tj.file.string() + " model";
  const json& model = tj.doc["model"];
  auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0))
    throw ModelError("tokenize: " + where + ".dropout: BPE dropout is not supported (expected null, got " +
                     dropout->dump() + ")");
  const auto vocab = json_token_ids(model, where);
  BpeOptions options;
  options.unk_token = optional_string(model, "unk_token", where);
  options.continuing_subword_prefix = optional_string(model, "continuing_subword_prefix", where).value_or("");
  options.end_of_word_suffix = optional_string(model, "end_of_word_suffix", where).value_or("");
  options.fuse_unk = optional_bool(model, "fuse_unk", where);
  options.byte_fallback = optional_bool(model, "byte_fallback", where);
  options.ignore_merges = optional_bool(model, "ignore_merges", where);
  auto bpe = std::make_unique<const BpeModel>(vocab, read_merges(model, where), std::move(options),
                                              where + " (BPE)");
  return make_json_tokenizer(tj, std::move(bpe));
}

}  // namespace gliclass::tokenize
