#include "tokenize/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "gliclass/error.h"
#include "tokenize/vocab_ids.h"

namespace gliclass::tokenize {

namespace {

uint64_t pair_key(int64_t a, int64_t b) {
  return (static_cast<uint64_t>(a) << 32) | static_cast<uint64_t>(b);
}

const std::string kEmpty;

}  // namespace

BpeModel::BpeModel(const std::vector<std::pair<std::string, int64_t>>& vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options, const std::string& where)
    : options_(std::move(options)) {
  for (const auto& [token, id] : vocab) {
    check_vocab_id(id, vocab.size(), token, where);
    vocab_[token] = id;
    if (static_cast<size_t>(id) >= id_to_token_.size()) id_to_token_.resize(static_cast<size_t>(id) + 1);
    if (id_to_token_[static_cast<size_t>(id)].empty()) id_to_token_[static_cast<size_t>(id)] = token;
  }
  if (vocab_.empty()) throw ModelError("tokenize: " + where + ": the vocabulary is empty");
  const size_t prefix = options_.continuing_subword_prefix.size();
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string& a = merges[rank].first;  // not a structured binding: the lambda
    const std::string& b = merges[rank].second;  // below captures them (C++17)
    auto fail = [&](const std::string& what) {
      throw ModelError("tokenize: " + where + ": merge " + std::to_string(rank) + " (\"" + a + "\", \"" +
                       b + "\"): " + what + " is not in the vocabulary");
    };
    auto left = find(a), right = find(b);
    if (!left) fail("\"" + a + "\"");
    if (!right) fail("\"" + b + "\"");
    // The right part's continuing-subword prefix is not repeated inside.
    std::string merged = a + (prefix && b.compare(0, prefix, options_.continuing_subword_prefix) == 0
                                  ? b.substr(prefix)
                                  : b);
    auto id = find(merged);
    if (!id) fail("their merge \"" + merged + "\"");
    merges_[pair_key(*left, *right)] = {static_cast<int64_t>(rank), *id};
  }
  if (options_.unk_token) {
    unk_id_ = find(*options_.unk_token);
    if (!unk_id_)
      throw ModelError("tokenize: " + where + ": unk_token \"" + *options_.unk_token +
                       "\" is not in the vocabulary");
  }
}

std::optional<int64_t> BpeModel::find(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

bool BpeModel::byte_pieces(std::string_view s, std::vector<int64_t>* ids) const {
  char name[8];
  for (unsigned char b : s) {
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto id = find(name);
    if (!id) return false;
    ids->push_back(*id);
  }
  return true;
}

std::optional<int64_t> BpeModel::token_to_id(std::string_view token) const { return find(token); }

const std::string& BpeModel::id_to_token(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size()) return kEmpty;
  return id_to_token_[static_cast<size_t>(id)];
}

void BpeModel::tokenize(std::string_view piece, std::vector<PieceToken>* out) const {
  if (piece.empty()) return;
  if (options_.ignore_merges) {
    if (auto id = find(piece)) {
      out->push_back({*id, 0, piece.size()});
      return;
    }
  }
  const bool cacheable = piece.size() < kCacheMaxPiece;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(std::string(piece));
    if (it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<PieceToken> tokens = merge_word(piece);
  out->insert(out->end(), tokens.begin(), tokens.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(piece), std::move(tokens));
  }
}

std::vector<PieceToken> BpeModel::merge_word(std::string_view piece) const {
  struct Symbol {
    int64_t id;
    size_t begin, end;
    int prev, next;  // neighbours still alive; -1 at the ends
    bool alive;
  };
  std::vector<Symbol> symbols;
  auto add = [&](int64_t id, size_t begin, size_t end) {
    int index = static_cast<int>(symbols.size());
    symbols.push_back({id, begin, end, index - 1, -1, true});
    if (index > 0) symbols[static_cast<size_t>(index) - 1].next = index;
  };

  // 1. Characters -> symbols.
  std::optional<std::pair<size_t, size_t>> unk;  // pending unknown range
  auto flush_unk = [&] {
    if (unk) add(*unk_id_, unk->first, unk->second);
    unk.reset();
  };
  std::string s;
  for (size_t pos = 0; pos < piece.size();) {
    size_t n = 1;
    if (utf8_char_at(piece, pos, &n) == kInvalidChar) n = 1;
    const bool first = pos == 0, last = pos + n == piece.size();
    s.assign(first ? "" : options_.continuing_subword_prefix);
    s.append(piece.substr(pos, n));
    if (last) s.append(options_.end_of_word_suffix);
    std::vector<int64_t> bytes;
    if (auto id = find(s)) {
      flush_unk();
      add(*id, pos, pos + n);
    } else if (options_.byte_fallback && byte_pieces(s, &bytes)) {
      flush_unk();
      for (int64_t b : bytes) add(b, pos, pos + n);  // each spans the whole character
    } else if (unk_id_) {
      if (unk && options_.fuse_unk) {
        unk->second = pos + n;
      } else {
        flush_unk();
        unk = std::make_pair(pos, pos + n);
      }
    }  // else: an unknown character without an unk token is dropped, as HF does
    pos += n;
  }
  flush_unk();

  // 2. Merges, best rank first, then leftmost (HF's Word::merge_all).
  struct Candidate {
    int64_t rank;
    int pos;
    int64_t new_id;
    bool operator<(const Candidate& o) const {  // priority_queue pops the largest
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate> queue;
  auto push_pair = [&](int left) {
    if (left < 0) return;
    int right = symbols[static_cast<size_t>(left)].next;
    if (right < 0) return;
    auto it = merges_.find(pair_key(symbols[static_cast<size_t>(left)].id, symbols[static_cast<size_t>(right)].id));
    if (it != merges_.end()) queue.push({it->second.first, left, it->second.second});
  };
  for (int i = 0; i + 1 < static_cast<int>(symbols.size()); ++i) push_pair(i);
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<size_t>(top.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.second != top.new_id) continue;  // stale
    left.id = top.new_id;
    left.end = right.end;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = top.pos;
    push_pair(left.prev);
    push_pair(top.pos);
  }

  std::vector<PieceToken> tokens;
  for (const auto& sym : symbols)
    if (sym.alive) tokens.push_back({sym.id, sym.begin, sym.end});
  return tokens;
}

}  // namespace gliclass::tokenize
