// A SentencePiece unigram model: normaliser + Viterbi segmentation, giving the
// same pieces, ids and byte offsets as sentencepiece 0.1.97 (the library HF's
// slow tokenizers call). Immutable; encode() is safe from several threads.
#pragma once
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenize/byte_trie.h"
#include "tokenize/spm_normalizer.h"
#include "tokenize/spm_proto.h"
#include "tokenize/tokenizer.h"

namespace gliclass::tokenize {

class SpmModel {
 public:
  // Checks the pieces as sentencepiece does (one unknown piece, no duplicate,
  // 256 byte pieces with byte_fallback, ...); throws ModelError naming `source`.
  SpmModel(SpmModelSpec spec, const std::string& source);

  // Id of exactly this piece (never the unknown id for another string).
  std::optional<int64_t> piece_id(std::string_view piece) const;
  const std::string& piece(int64_t id) const { return pieces_[static_cast<size_t>(id)].piece; }
  size_t size() const { return pieces_.size(); }
  int64_t unk_id() const { return unk_id_; }

  // Appends the pieces of `text` to `out`; offsets are shifted by `offset`.
  // Tokens are vocabulary strings (a run of unknown characters is one unk
  // piece). Offsets are SentencePiece's: the dummy "▁" and all but the last
  // piece of a character that normalises to several ("½" -> "1⁄2") get an
  // empty range at the start of their text; stripped whitespace belongs to
  // no piece.
  void encode(std::string_view text, size_t offset, Encoding* out) const;

 private:
  // Best segmentation of normalised text: (byte length, id) per piece.
  std::vector<std::pair<size_t, int32_t>> viterbi(std::string_view normalized) const;

  std::vector<SpmPiece> pieces_;
  ByteTrie trie_;          // normal, user-defined and unused pieces
  ByteTrie user_defined_;  // kept verbatim by the normaliser
  std::unordered_map<std::string, int32_t> reserved_;  // unknown, control, byte pieces
  std::array<int32_t, 256> byte_ids_{};
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
  float min_score_ = 0, max_score_ = 0;
  std::unique_ptr<SpmNormalizer> normalizer_;
};

}  // namespace gliclass::tokenize
