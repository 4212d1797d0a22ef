#include "tokenize/sentencepiece_tokenizer.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include "gliclass/error.h"

namespace gliclass::tokenize {
namespace fs = std::filesystem;

// ---- SentencePieceTokenizer -------------------------------------------------

SentencePieceTokenizer::SentencePieceTokenizer(std::unique_ptr<const SpmModel> model,
                                               AddedVocabulary added, SpecialIds specials)
    : model_(std::move(model)), added_(std::move(added)), specials_(std::move(specials)) {}

Encoding SentencePieceTokenizer::encode(std::string_view text) const {
  Encoding enc;
  for (const Segment& s : added_.split(text)) {
    if (s.token) {
      enc.ids.push_back(s.token->id);
      enc.tokens.push_back(s.token->content);
      enc.begin.push_back(s.begin);
      enc.end.push_back(s.end);
    } else {
      model_->encode(text.substr(s.begin, s.end - s.begin), s.begin, &enc);
    }
  }
  return enc;
}

std::optional<int64_t> SentencePieceTokenizer::token_to_id(std::string_view token) const {
  return lookup_token(*model_, added_, token);
}

size_t SentencePieceTokenizer::vocab_size() const {
  return std::max<size_t>(model_->size(), static_cast<size_t>(added_.max_id() + 1));
}

std::optional<int64_t> lookup_token(const SpmModel& model, const AddedVocabulary& added,
                                    std::string_view token) {
  if (const AddedToken* t = added.find(token)) return t->id;
  return model.piece_id(token);
}

AddedVocabulary build_added_vocabulary(const SpmModel& model,
                                       const std::vector<AddedToken>& first,
                                       const TokenConfig& config) {
  std::vector<std::vector<AddedToken>> sources;
  sources.push_back(first);
  sources.insert(sources.end(), config.sources.begin(), config.sources.end());
  return AddedVocabulary(merge_added_tokens(
      sources, [&](std::string_view s) { return model.piece_id(s); }, model.size()));
}

// ---- loading spm.model / spiece.model ----------------------------------------

namespace {

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ModelError("tokenize: cannot open " + file.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The slow tokenizers' build_inputs_with_special_tokens for one sequence.
SpecialIds slow_special_ids(const TokenizerSettings& s, const SpmModel& model,
                            const AddedVocabulary& added, const fs::path& dir) {
  auto id_of = [&](const std::optional<std::string>& name, const char* role) -> int64_t {
    auto id = name ? lookup_token(model, added, *name) : std::nullopt;
    if (!id)
      throw ModelError("tokenize: " + dir.string() + ": the " + role + " token " +
                       (name ? "\"" + *name + "\" is not in the vocabulary" : "is not declared"));
    return *id;
  };
  SpecialIds ids;
  const std::string& cls = s.tokenizer_class;
  if (s.add_bos || s.add_eos) {  // Llama-style flags
    if (s.add_bos.value_or(false)) ids.prefix.push_back(id_of(s.bos, "bos"));
    if (s.add_eos.value_or(false)) ids.suffix.push_back(id_of(s.eos, "eos"));
  } else if (cls.rfind("XLNet", 0) == 0) {  // A <sep> <cls>
    ids.suffix = {id_of(s.sep, "sep"), id_of(s.cls, "cls")};
  } else if (s.cls && s.sep) {  // DeBERTa-v2/v3, ALBERT: [CLS] A [SEP]
    ids.prefix.push_back(id_of(s.cls, "cls"));
    ids.suffix.push_back(id_of(s.sep, "sep"));
  } else if (s.eos) {  // T5: A </s>
    ids.suffix.push_back(id_of(s.eos, "eos"));
    ids.suffix_only_if_absent = cls == "T5Tokenizer" || cls == "MT5Tokenizer";
  }
  if (s.pad) {
    ids.pad_id = id_of(s.pad, "pad");
  } else if (auto pad = model.piece_id("<pad>")) {
    ids.pad_id = *pad;
  } else if (auto pad2 = model.piece_id("[PAD]")) {
    ids.pad_id = *pad2;
  }
  return ids;
}

// Options of the slow tokenizers that change tokenization and are not
// implemented here: refuse them rather than produce other ids.
void check_slow_options(const TokenizerSettings& s, const fs::path& dir) {
  auto refuse = [&](const std::string& what) {
    throw ModelError("tokenize: " + dir.string() + ": " + what + " is not supported" +
                     (s.tokenizer_class.empty() ? "" : " (tokenizer_class " + s.tokenizer_class + ")"));
  };
  if (s.do_lower_case.value_or(false)) refuse("do_lower_case=true");
  if (s.split_by_punct.value_or(false)) refuse("split_by_punct=true");
  if (s.legacy.has_value() && !*s.legacy)
    refuse("legacy=false SentencePiece tokenization (only legacy=true is)");
}

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const fs::path& dir) {
  fs::path file;
  for (const char* name : {"spm.model", "spiece.model"}) {
    if (fs::exists(dir / name)) {
      file = dir / name;
      break;
    }
  }
  if (file.empty())
    throw ModelError("tokenize: no SentencePiece model in " + dir.string() +
                     " (expected spm.model or spiece.model)");
  TokenConfig config = read_token_config(dir);
  check_slow_options(config.settings, dir);
  auto model = std::make_unique<const SpmModel>(parse_spm_model(read_file(file), file.string()),
                                                file.string());
  AddedVocabulary added = build_added_vocabulary(*model, {}, config);
  SpecialIds specials = slow_special_ids(config.settings, *model, added, dir);
  return std::make_unique<SentencePieceTokenizer>(std::move(model), std::move(added),
                                                  std::move(specials));
}

}  // namespace gliclass::tokenize
