// The slow BertTokenizer (transformers' tokenization_bert.py) from a
// directory with vocab.txt: added tokens are split out first; with
// do_lower_case every other character is lowercased (PreTrainedTokenizer.
// tokenize does that before the split); then BasicTokenizer (clean_text,
// spaces around CJK ideographs, NFC, whitespace split, per word lowercase +
// accent stripping, punctuation split; never_split words kept whole) and
// WordpieceTokenizer (greedy "##" pieces, 100 characters at most per word).
// Template: [CLS] $A [SEP].
#pragma once
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tokenize/added_tokens.h"
#include "tokenize/normalizers.h"
#include "tokenize/sentencepiece_tokenizer.h"
#include "tokenize/tokenizer.h"
#include "tokenize/wordpiece_model.h"

namespace gliclass::tokenize {

// BasicTokenizer's options (tokenizer_config.json keys of the same names).
struct BertBasicOptions {
  bool do_lower_case = true;
  std::optional<bool> strip_accents;  // unset: follow do_lower_case
  bool tokenize_chinese_chars = true;
  bool do_basic_tokenize = true;
  std::set<std::string> never_split;  // words kept whole and looked up as they are
};

// The words BasicTokenizer cuts `text` into (after the per-character
// lowercasing of do_lower_case), each aligned to the input. `never_split`
// words are flagged in `whole`.
std::vector<NormalizedText> bert_basic_tokenize(const NormalizedText& text, const BertBasicOptions& options,
                                                std::vector<bool>* whole);

class BertTokenizer final : public Tokenizer {
 public:
  BertTokenizer(std::unique_ptr<const WordPieceModel> model, AddedVocabulary added,
                BertBasicOptions options, SpecialIds specials);

  Encoding encode(std::string_view text) const override;
  std::vector<int64_t> prefix_ids() const override { return specials_.prefix; }
  std::vector<int64_t> suffix_ids() const override { return specials_.suffix; }
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  int64_t pad_id() const override { return specials_.pad_id; }
  size_t vocab_size() const override;

 private:
  std::unique_ptr<const WordPieceModel> model_;
  AddedVocabulary added_;
  BertBasicOptions options_;
  SpecialIds specials_;
};

// vocab.txt (one token per line, id = line number) plus tokenizer_config.json,
// special_tokens_map.json and added_tokens.json. Throws ModelError naming the
// missing or broken file.
std::unique_ptr<Tokenizer> load_wordpiece_vocab(const std::filesystem::path& dir);

}  // namespace gliclass::tokenize
