#include "tokenize/wordpiece_model.h"

#include "gliclass/error.h"
#include "tokenize/vocab_ids.h"

namespace gliclass::tokenize {

namespace {

const std::string kEmpty;

// Start of the character that ends at byte `end` of `s` (not before `floor`).
size_t previous_char(std::string_view s, size_t floor, size_t end) {
  size_t p = end - 1;
  while (p > floor && end - p < 4 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
  size_t n = 0;
  utf8_char_at(s, p, &n);
  return p + n == end ? p : end - 1;  // a malformed tail steps back one byte
}

}  // namespace

WordPieceModel::WordPieceModel(const std::vector<std::pair<std::string, int64_t>>& vocab,
                               std::string unk_token, std::string continuing_subword_prefix,
                               size_t max_input_chars_per_word, const std::string& where)
    : unk_token_(std::move(unk_token)),
      prefix_(std::move(continuing_subword_prefix)),
      max_chars_(max_input_chars_per_word) {
  if (vocab.empty()) throw ModelError("tokenize: " + where + ": the vocabulary is empty");
  for (const auto& [token, id] : vocab) {
    check_vocab_id(id, vocab.size(), token, where);
    vocab_[token] = id;
    if (static_cast<size_t>(id) >= id_to_token_.size()) id_to_token_.resize(static_cast<size_t>(id) + 1);
    id_to_token_[static_cast<size_t>(id)] = token;
  }
  auto unk = vocab_.find(unk_token_);
  if (unk == vocab_.end())
    throw ModelError("tokenize: " + where + ": unk_token \"" + unk_token_ +
                     "\" is not in the vocabulary");
  unk_id_ = unk->second;
}

void WordPieceModel::tokenize(std::string_view piece, std::vector<PieceToken>* out) const {
  if (piece.empty()) return;
  size_t chars = 0;
  for (size_t pos = 0, n = 0; pos < piece.size(); pos += n, ++chars) utf8_char_at(piece, pos, &n);
  if (chars > max_chars_) {
    out->push_back({unk_id_, 0, piece.size()});
    return;
  }
  const size_t first = out->size();
  std::string candidate;
  for (size_t start = 0; start < piece.size();) {
    size_t end = piece.size();
    std::optional<int64_t> found;
    while (start < end) {
      candidate.assign(start > 0 ? prefix_ : "");
      candidate.append(piece.substr(start, end - start));
      auto it = vocab_.find(candidate);
      if (it != vocab_.end()) {
        found = it->second;
        break;
      }
      end = previous_char(piece, start, end);
    }
    if (!found) {  // no entry covers this part: the whole word is unknown
      out->resize(first);
      out->push_back({unk_id_, 0, piece.size()});
      return;
    }
    out->push_back({*found, start, end});
    start = end;
  }
}

std::optional<int64_t> WordPieceModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string& WordPieceModel::id_to_token(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return kEmpty;
  return id_to_token_[static_cast<size_t>(id)];
}

}  // namespace gliclass::tokenize
