// Tokenizer on a SentencePiece unigram model, reproducing HF's slow
// SentencePiece tokenizers (DebertaV2Tokenizer, T5Tokenizer with legacy=true): added tokens
// are split out first and every other span is encoded by SentencePiece on its
// own, so each span gets its own "▁" dummy prefix.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenize/added_tokens.h"
#include "tokenize/spm_model.h"
#include "tokenize/tokenizer.h"

namespace gliclass::tokenize {

// Special-token ids around a sequence and the padding id.
struct SpecialIds {
  std::vector<int64_t> prefix;
  std::vector<int64_t> suffix;
  int64_t pad_id = 0;
  bool suffix_only_if_absent = false;
};

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(std::unique_ptr<const SpmModel> model, AddedVocabulary added,
                         SpecialIds specials);

  Encoding encode(std::string_view text) const override;
  std::vector<int64_t> prefix_ids() const override { return specials_.prefix; }
  std::vector<int64_t> suffix_ids() const override { return specials_.suffix; }
  bool suffix_only_if_absent() const override { return specials_.suffix_only_if_absent; }
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  int64_t pad_id() const override { return specials_.pad_id; }
  size_t vocab_size() const override;

  const AddedVocabulary& added_tokens() const { return added_; }

 private:
  std::unique_ptr<const SpmModel> model_;
  AddedVocabulary added_;
  SpecialIds specials_;
};

// Id of `token` as an added token, else as a model piece.
std::optional<int64_t> lookup_token(const SpmModel& model, const AddedVocabulary& added,
                                    std::string_view token);

// The added vocabulary of a directory's token config merged with `first`
// (higher priority, e.g. tokenizer.json's added_tokens), ids resolved
// against `model`.
AddedVocabulary build_added_vocabulary(const SpmModel& model,
                                       const std::vector<AddedToken>& first,
                                       const TokenConfig& config);

}  // namespace gliclass::tokenize
