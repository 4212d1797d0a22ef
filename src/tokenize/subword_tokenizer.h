// The HF fast-tokenizer pipeline (tokenizer.json) for any subword model:
//   added tokens that are not "normalized" are cut out of the input first;
//   the rest is normalised (with its alignment to the input kept), the
//   "normalized" added tokens are cut out of that, the pre-tokenizer splits
//   what remains into pieces, and the model (BPE, WordPiece) turns each piece
//   into tokens. Offsets are byte ranges of the original input.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenize/added_tokens.h"
#include "tokenize/normalizers.h"
#include "tokenize/pre_tokenizers.h"
#include "tokenize/sentencepiece_tokenizer.h"
#include "tokenize/tokenizer.h"

namespace gliclass::tokenize {

// A token of one piece: its id and the byte range of the piece it covers.
struct PieceToken {
  int64_t id = 0;
  size_t begin = 0;
  size_t end = 0;
};

// A subword model over pre-tokenised pieces. Implementations are immutable
// once built (or lock what they cache): safe to call from several threads.
class SubwordModel {
 public:
  virtual ~SubwordModel() = default;
  // Appends the tokens of `piece` (non-empty) in order.
  virtual void tokenize(std::string_view piece, std::vector<PieceToken>* out) const = 0;
  virtual std::optional<int64_t> token_to_id(std::string_view token) const = 0;
  virtual const std::string& id_to_token(int64_t id) const = 0;  // "" for unknown ids
  virtual size_t size() const = 0;                                // largest id + 1
};

class SubwordTokenizer final : public Tokenizer {
 public:
  // `added`: every added token with its id; `normalized`: the contents of
  // those matched in the normalised text (HF AddedToken.normalized).
  SubwordTokenizer(std::unique_ptr<const SubwordModel> model, Normalizer normalizer,
                   PreTokenizer pre_tokenizer, const std::vector<AddedToken>& added,
                   const std::vector<std::string>& normalized, SpecialIds specials);

  Encoding encode(std::string_view text) const override;
  std::vector<int64_t> prefix_ids() const override { return specials_.prefix; }
  std::vector<int64_t> suffix_ids() const override { return specials_.suffix; }
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  int64_t pad_id() const override { return specials_.pad_id; }
  size_t vocab_size() const override;

  const SubwordModel& model() const { return *model_; }

 private:
  // Tokens of normalised text `n`, bytes [begin, end), appended to `enc`.
  void encode_normalized(const NormalizedText& n, size_t begin, size_t end, Encoding* enc) const;

  std::unique_ptr<const SubwordModel> model_;
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  AddedVocabulary all_added_;  // by original content (token_to_id)
  AddedVocabulary raw_added_;  // matched in the input
  AddedVocabulary norm_added_;  // matched in the normalised text, contents normalised
  std::unordered_map<int64_t, std::string> added_content_;
  SpecialIds specials_;
};

// Appends the added token of segment `i` of `segments` (cut from `text`).
// Its range and string are HF's: an lstrip/rstrip token also covers the
// whitespace it ate (up to the neighbouring segment), and its string is its content.
void append_added_token(const std::vector<Segment>& segments, size_t i, size_t text_size,
                        const std::function<Span(size_t, size_t)>& to_input, Encoding* enc);

// A SubwordTokenizer from a tokenizer.json's normalizer, pre_tokenizer,
// added_tokens (plus the config files' tokens) and post_processor around
// `model`. Throws ModelError naming the file for unsupported parts.
struct TokenizerJson;
std::unique_ptr<Tokenizer> make_json_tokenizer(const TokenizerJson& tj,
                                               std::unique_ptr<const SubwordModel> model);

}  // namespace gliclass::tokenize
