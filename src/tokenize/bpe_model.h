// Byte-pair encoding (HF tokenizers' models::bpe): a piece starts as its
// characters (unknown ones -> byte-fallback "<0xHH>" pieces, the unk token,
// or dropped), then the adjacent pair with the best (lowest) merge rank is
// merged, leftmost first, until no pair has a merge. With byte-level
// pre-tokenisation every character is in the vocabulary.
#pragma once
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenize/subword_tokenizer.h"

namespace gliclass::tokenize {

struct BpeOptions {
  std::optional<std::string> unk_token;   // unknown characters -> this; none: dropped
  std::string continuing_subword_prefix;  // on every character but a piece's first
  std::string end_of_word_suffix;         // on a piece's last character
  bool fuse_unk = false;                  // consecutive unknowns -> one unk token
  bool byte_fallback = false;             // unknown characters -> <0xHH> byte pieces
  bool ignore_merges = false;             // a piece in the vocabulary is one token
};

class BpeModel final : public SubwordModel {
 public:
  // `merges` in priority order (rank = position). Throws ModelError naming
  // `where` when a merge's parts or result, or the unk token, are not in the
  // vocabulary, or an id is negative or repeated oddly.
  BpeModel(const std::vector<std::pair<std::string, int64_t>>& vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
           const std::string& where);

  void tokenize(std::string_view piece, std::vector<PieceToken>* out) const override;
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  const std::string& id_to_token(int64_t id) const override;
  size_t size() const override { return id_to_token_.size(); }

 private:
  // The merged symbols of `piece`, offsets relative to it.
  std::vector<PieceToken> merge_word(std::string_view piece) const;
  std::optional<int64_t> find(std::string_view token) const;
  // Ids of the "<0xHH>" pieces of every byte of `s`; false if one is missing.
  bool byte_pieces(std::string_view s, std::vector<int64_t>* ids) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  // (left id, right id) -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<int64_t, int64_t>> merges_;
  BpeOptions options_;
  std::optional<int64_t> unk_id_;

  // Results by piece (HF keeps such a cache too); bounded, behind a lock.
  static constexpr size_t kCacheCapacity = 10000;
  static constexpr size_t kCacheMaxPiece = 256;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<PieceToken>> cache_;
};

}  // namespace gliclass::tokenize
