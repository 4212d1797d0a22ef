#include "tokenize/spm_model.h"

#include <algorithm>
#include <cfloat>

#include "gliclass/error.h"

namespace gliclass::tokenize {
namespace {

// sentencepiece's unigram model scores an unknown character as the lowest
// piece score minus this penalty.
constexpr float kUnkPenalty = 10.0f;

int byte_of_piece(const std::string& s) {  // "<0xHH>" -> HH, else -1
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.size() != 6 || s.compare(0, 3, "<0x") != 0 || s[5] != '>') return -1;
  int hi = hex(s[3]), lo = hex(s[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

SpmModel::SpmModel(SpmModelSpec spec, const std::string& source)
    : pieces_(std::move(spec.pieces)), byte_fallback_(spec.byte_fallback) {
  auto fail = [&](const std::string& what) {
    throw ModelError("tokenize: " + source + " is not a usable SentencePiece model (" + what + ")");
  };
  if (spec.model_type != 1)
    fail("model_type " + std::to_string(spec.model_type) +
         " is not supported; expected 1 (unigram)");
  std::vector<std::pair<std::string, int32_t>> normal, user;
  std::unordered_map<std::string, int32_t> seen;
  byte_ids_.fill(-1);
  min_score_ = FLT_MAX;
  max_score_ = FLT_MIN;  // sentencepiece starts from FLT_MIN (the smallest positive float)
  for (size_t i = 0; i < pieces_.size(); ++i) {
    const SpmPiece& p = pieces_[i];
    const auto id = static_cast<int32_t>(i);
    if (p.piece.empty()) fail("piece " + std::to_string(i) + " is empty");
    const bool in_trie = p.type == SpmPieceType::kNormal || p.type == SpmPieceType::kUserDefined ||
                         p.type == SpmPieceType::kUnused;
    if (in_trie ? !seen.emplace(p.piece, id).second : !reserved_.emplace(p.piece, id).second)
      fail("piece \"" + p.piece + "\" is defined twice");
    if (in_trie) normal.emplace_back(p.piece, id);
    if (p.type == SpmPieceType::kUserDefined) user.emplace_back(p.piece, id);
    if (p.type == SpmPieceType::kNormal) {
      min_score_ = std::min(min_score_, p.score);
      max_score_ = std::max(max_score_, p.score);
    }
    if (p.type == SpmPieceType::kUnknown) {
      if (unk_id_ >= 0) fail("more than one unknown piece");
      unk_id_ = id;
    }
    if (p.type == SpmPieceType::kByte) {
      int b = byte_of_piece(p.piece);
      if (!byte_fallback_) fail("byte piece " + p.piece + " without byte_fallback");
      if (b < 0) fail("byte piece " + p.piece + " is not <0xHH>");
      byte_ids_[static_cast<size_t>(b)] = id;
    }
  }
  if (unk_id_ < 0) fail("no unknown piece");
  if (normal.empty()) fail("no normal pieces");
  if (byte_fallback_ && std::count(byte_ids_.begin(), byte_ids_.end(), -1) > 0)
    fail("byte_fallback without all 256 byte pieces");
  trie_ = ByteTrie(std::move(normal));
  user_defined_ = ByteTrie(std::move(user));
  normalizer_ = std::make_unique<SpmNormalizer>(spec, &user_defined_, source);
}

std::optional<int64_t> SpmModel::piece_id(std::string_view piece) const {
  auto it = reserved_.find(std::string(piece));
  if (it != reserved_.end()) return it->second;
  if (auto id = trie_.find(piece)) return *id;
  return std::nullopt;
}

// Viterbi over byte positions, as sentencepiece's EncodeOptimized: for each
// character start (left to right) every vocabulary piece starting there
// updates the best path ending where it ends (ties keep the earlier
// candidate); a character with no one-character piece gets an unknown node.
// User-defined pieces score length * max_score - 0.1, so they always win.
std::vector<std::pair<size_t, int32_t>> SpmModel::viterbi(std::string_view text) const {
  struct Best {
    int32_t id = -1;
    float score = 0;
    int64_t starts_at = -1;
  };
  const size_t size = text.size();
  const float unk_score = min_score_ - kUnkPenalty;
  std::vector<Best> best(size + 1);
  for (size_t start = 0; start < size;) {
    const float till_here = best[start].score;
    const size_t char_len = std::min(utf8_lead_length(text[start]), size - start);
    bool has_single_char_piece = false;
    trie_.for_each_prefix(text.substr(start), [&](size_t length, int32_t id) {
      const SpmPiece& p = pieces_[static_cast<size_t>(id)];
      if (p.type == SpmPieceType::kUnused) return;
      // The same float/double mix as sentencepiece, so ties break alike.
      const double score = p.type == SpmPieceType::kUserDefined
                               ? static_cast<double>(static_cast<float>(length) * max_score_) - 0.1
                               : static_cast<double>(p.score);
      const double candidate = score + static_cast<double>(till_here);
      Best& target = best[start + length];
      if (target.starts_at == -1 || candidate > static_cast<double>(target.score)) {
        target = {id, static_cast<float>(candidate), static_cast<int64_t>(start)};
      }
      if (length == char_len) has_single_char_piece = true;
    });
    if (!has_single_char_piece) {
      const float candidate = unk_score + till_here;
      Best& target = best[start + char_len];
      if (target.starts_at == -1 || candidate > target.score)
        target = {unk_id_, candidate, static_cast<int64_t>(start)};
    }
    start += char_len;
  }
  std::vector<std::pair<size_t, int32_t>> pieces;
  for (size_t end = size; end > 0;) {
    const Best& b = best[end];
    size_t start = static_cast<size_t>(b.starts_at);
    pieces.emplace_back(end - start, b.id);
    end = start;
  }
  std::reverse(pieces.begin(), pieces.end());
  return pieces;
}

void SpmModel::encode(std::string_view text, size_t offset, Encoding* out) const {
  std::string normalized;
  std::vector<size_t> norm_to_orig;
  normalizer_->normalize(text, &normalized, &norm_to_orig);
  if (normalized.empty()) return;
  size_t consumed = 0;
  bool prev_unk = false;
  auto push = [&](int32_t id, size_t begin, size_t end) {
    out->ids.push_back(id);
    out->tokens.push_back(pieces_[static_cast<size_t>(id)].piece);
    out->begin.push_back(offset + begin);
    out->end.push_back(offset + end);
  };
  for (const auto& [length, id] : viterbi(normalized)) {
    const bool unk = id == unk_id_;
    const size_t orig_begin = norm_to_orig[consumed];
    const size_t orig_end = norm_to_orig[consumed + length];
    if (unk && byte_fallback_) {
      // An unknown piece becomes its UTF-8 bytes; the last carries the span.
      for (size_t i = 0; i < length; ++i) {
        const auto byte = static_cast<uint8_t>(normalized[consumed + i]);
        push(byte_ids_[byte], orig_begin, i + 1 == length ? orig_end : orig_begin);
      }
    } else if (unk && prev_unk) {
      out->end.back() = offset + orig_end;  // a run of unknowns is one piece
    } else {
      push(id, orig_begin, orig_end);
    }
    consumed += length;
    prev_unk = unk;
  }
}

}  // namespace gliclass::tokenize
