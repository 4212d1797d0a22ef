// A compact byte trie over a fixed key set (a vocabulary): each node's
// children lie side by side, sorted by byte, so lookups binary-search them.
// Immutable once built; safe to read from several threads.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gliclass::tokenize {

class ByteTrie {
 public:
  ByteTrie() = default;
  // Keys must be distinct and non-empty; values are stored as given.
  explicit ByteTrie(std::vector<std::pair<std::string, int32_t>> keys);

  // Calls f(length, value) for every key that is a prefix of `text`, shortest first.
  template <typename F>
  void for_each_prefix(std::string_view text, F&& f) const {
    if (nodes_.empty()) return;
    uint32_t node = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      node = child(node, static_cast<uint8_t>(text[i]));
      if (node == kNone) return;
      if (nodes_[node].value >= 0) f(i + 1, nodes_[node].value);
    }
  }

  std::optional<int32_t> find(std::string_view key) const;
  bool empty() const { return nodes_.size() <= 1; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Node {
    uint32_t first_child = 0;
    uint32_t num_children = 0;
    int32_t value = -1;
    uint8_t label = 0;
  };
  uint32_t child(uint32_t node, uint8_t label) const;

  std::vector<Node> nodes_;
};

}  // namespace gliclass::tokenize
