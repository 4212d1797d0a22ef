// WordPiece (BERT): a word becomes the longest vocabulary entry that starts
// it, then the longest "##"-prefixed entry that continues it, and so on; a
// word with a part no entry covers, or longer than max_input_chars_per_word
// characters, is one unk token. The same greedy algorithm in the slow
// BertTokenizer's WordpieceTokenizer and HF tokenizers' models::wordpiece.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenize/subword_tokenizer.h"

namespace gliclass::tokenize {

class WordPieceModel final : public SubwordModel {
 public:
  // `vocab`: (token, id) in file order (a repeated token keeps its last id).
  // Throws ModelError naming `where` when the vocabulary is empty, an id is
  // negative, or `unk_token` is not in it.
  WordPieceModel(const std::vector<std::pair<std::string, int64_t>>& vocab, std::string unk_token,
                 std::string continuing_subword_prefix, size_t max_input_chars_per_word,
                 const std::string& where);

  void tokenize(std::string_view piece, std::vector<PieceToken>* out) const override;
  std::optional<int64_t> token_to_id(std::string_view token) const override;
  const std::string& id_to_token(int64_t id) const override;
  size_t size() const override { return id_to_token_.size(); }

  int64_t unk_id() const { return unk_id_; }
  const std::string& unk_token() const { return unk_token_; }

 private:
  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::string unk_token_;
  int64_t unk_id_ = 0;
  std::string prefix_;
  size_t max_chars_;
};

}  // namespace gliclass::tokenize
