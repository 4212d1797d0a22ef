#include "tokenize/byte_trie.h"

#include <algorithm>
#include <deque>

namespace gliclass::tokenize {

ByteTrie::ByteTrie(std::vector<std::pair<std::string, int32_t>> keys) {
  std::sort(keys.begin(), keys.end());
  nodes_.emplace_back();  // root
  // Breadth-first, so the children of a node are appended side by side. Each
  // entry: a node and the sorted keys below it, which share `depth` bytes.
  struct Pending {
    uint32_t node;
    size_t lo, hi, depth;
  };
  std::deque<Pending> queue{{0, 0, keys.size(), 0}};
  while (!queue.empty()) {
    Pending p = queue.front();
    queue.pop_front();
    size_t lo = p.lo;
    if (lo < p.hi && keys[lo].first.size() == p.depth) {  // a key ends here
      nodes_[p.node].value = keys[lo].second;
      ++lo;
    }
    nodes_[p.node].first_child = static_cast<uint32_t>(nodes_.size());
    while (lo < p.hi) {
      uint8_t label = static_cast<uint8_t>(keys[lo].first[p.depth]);
      size_t hi = lo;
      while (hi < p.hi && static_cast<uint8_t>(keys[hi].first[p.depth]) == label) ++hi;
      Node n;
      n.label = label;
      nodes_.push_back(n);
      ++nodes_[p.node].num_children;
      queue.push_back({static_cast<uint32_t>(nodes_.size() - 1), lo, hi, p.depth + 1});
      lo = hi;
    }
  }
}

uint32_t ByteTrie::child(uint32_t node, uint8_t label) const {
  const Node& n = nodes_[node];
  auto first = nodes_.begin() + n.first_child;
  auto last = first + n.num_children;
  auto it = std::lower_bound(first, last, label,
                             [](const Node& c, uint8_t l) { return c.label < l; });
  return it != last && it->label == label ? static_cast<uint32_t>(it - nodes_.begin()) : kNone;
}

std::optional<int32_t> ByteTrie::find(std::string_view key) const {
  if (nodes_.empty() || key.empty()) return std::nullopt;
  uint32_t node = 0;
  for (char c : key) {
    node = child(node, static_cast<uint8_t>(c));
    if (node == kNone) return std::nullopt;
  }
  if (nodes_[node].value < 0) return std::nullopt;
  return nodes_[node].value;
}

}  // namespace gliclass::tokenize
