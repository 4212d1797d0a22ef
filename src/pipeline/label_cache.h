// Label vectors of bi-encoder models by label text, so classifying many texts
// against the same labels encodes each label once. Least recently used
// entries are dropped first to keep the total under a byte bound; safe to use
// from many threads at once.
#pragma once
#include <torch/torch.h>

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace gliclass::pipeline {

class LabelCache {
 public:
  struct Stats {
    size_t entries = 0;
    size_t bytes = 0;
    size_t hits = 0;
    size_t misses = 0;
  };

  // max_bytes = 0 disables the cache (every lookup misses, nothing is kept).
  explicit LabelCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // The cached vector of (adapter, label), marked most recently used.
  std::optional<torch::Tensor> get(int adapter, const std::string& label);
  // Stores a vector (its own contiguous copy); evicts the least recently used
  // entries beyond the bound. A vector larger than the bound is not kept.
  void put(int adapter, const std::string& label, const torch::Tensor& vector);

  Stats stats() const;

 private:
  struct Entry {
    std::string key;
    torch::Tensor vector;
    size_t bytes = 0;
  };
  static std::string key_of(int adapter, const std::string& label);

  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  size_t bytes_ = 0;
  size_t hits_ = 0;
  size_t misses_ = 0;
};

}  // namespace gliclass::pipeline
