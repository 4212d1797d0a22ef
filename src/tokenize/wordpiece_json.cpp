// tokenizer.json with a WordPiece model (fast BERT tokenizers): "model":
// {"vocab": {token: id}, "unk_token", "continuing_subword_prefix",
// "max_input_chars_per_word"}; usually with BertNormalizer and
// BertPreTokenizer, which normalizers.cpp / pre_tokenizers.cpp provide.
#include "gliclass/error.h"
#include "tokenize/tokenizer_json.h"
#include "tokenize/wordpiece_model.h"

namespace gliclass::tokenize {
using nlohmann::json;

std::unique_ptr<Tokenizer> load_wordpiece_json(const TokenizerJson& tj) {
  const std::string where = tj.file.string() + " model";
  const json& model = tj.doc["model"];
  const auto vocab = json_token_ids(model, where);
  std::string unk = model.contains("unk_token") ? json_string(model, "unk_token", where) : "[UNK]";
  std::string prefix = model.contains("continuing_subword_prefix")
                           ? json_string(model, "continuing_subword_prefix", where)
                           : "##";
  size_t max_chars = 100;
  if (auto it = model.find("max_input_chars_per_word"); it != model.end() && !it->is_null()) {
    if (!it->is_number_unsigned())
      throw ModelError("tokenize: " + where + ".max_input_chars_per_word: expected a count, got " + it->dump());
    max_chars = it->get<size_t>();
  }
  auto wordpiece = std::make_unique<const WordPieceModel>(vocab, unk, prefix, max_chars,
                                                          where + " (WordPiece)");
  return make_json_tokenizer(tj, std::move(wordpiece));
}

}  // namespace gliclass::tokenize
