// Tokenizer on libsentencepiece, reproducing HF's slow SentencePiece
// tokenizers (DebertaV2Tokenizer, T5Tokenizer with legacy=true): added tokens
// are split out first and every other span is encoded by SentencePiece on its
// own, so each span gets its own "▁" dummy prefix.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenize/added_tokens.h"
#include "tokenize/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace gliclass::tokenize {

// A loaded SentencePiece ModelProto (any model type). Immutable; encode() is
// safe to call from several threads.
class SpmModel {
 public:
  // `serialized`: ModelProto bytes; `source` names them in error messages.
  SpmModel(std::string_view serialized, const std::string& source);
  ~SpmModel();
  SpmModel(const SpmModel&) = delete;
  SpmModel& operator=(const SpmModel&) = delete;

  // Id of exactly this piece (never the unknown id for another string).
  std::optional<int64_t> piece_id(std::string_view piece) const;
  const std::string& piece(int64_t id) const;
  size_t size() const;

  // Appends the pieces of `text` to `out`; offsets are shifted by `offset`.
  // Tokens are vocabulary strings (unknown spans read as the unk piece).
  void encode(std::string_view text, size_t offset, Encoding* out) const;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  std::string source_;
};

// Special-token ids around a sequence and the padding id.
struct SpecialIds {
  std::vector<int64_t> prefix;
  std::vector<int64_t> suffix;
  int64_t pad_id = 0;
};

class SentencePieceTokenizer final : public Tokenizer {
 public:
  SentencePieceTokenizer(std::unique_ptr<const SpmModel> model, AddedVocabulary added,
                         SpecialIds specials);

  Encoding encode(std::string_view text) const override;
  std::vector<int64_t> prefix_ids() const override { return specials_.prefix; }
  std::vector<int64_t> suffix_ids() const override { return specials_.suffix; }
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
