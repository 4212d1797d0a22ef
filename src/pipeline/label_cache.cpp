#include "pipeline/label_cache.h"

namespace gliclass::pipeline {

std::string LabelCache::key_of(int adapter, const std::string& label) {
  return std::to_string(adapter) + '\n' + label;
}

std::optional<torch::Tensor> LabelCache::get(int adapter, const std::string& label) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key_of(adapter, label));
  if (it == index_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  order_.splice(order_.begin(), order_, it->second);
  return it->second->vector;
}

void LabelCache::put(int adapter, const std::string& label, const torch::Tensor& vector) {
  auto copy = vector.detach().contiguous().clone();
  const size_t bytes = copy.nbytes() + label.size();
  std::lock_guard<std::mutex> lock(mutex_);
  if (bytes > max_bytes_) return;
  std::string key = key_of(adapter, label);
  if (auto it = index_.find(key); it != index_.end()) {  // another thread got here first
    order_.splice(order_.begin(), order_, it->second);
    return;
  }
  order_.push_front({key, std::move(copy), bytes});
  index_.emplace(std::move(key), order_.begin());
  bytes_ += bytes;
  while (bytes_ > max_bytes_) {
    bytes_ -= order_.back().bytes;
    index_.erase(order_.back().key);
    order_.pop_back();
  }
}

LabelCache::Stats LabelCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {order_.size(), bytes_, hits_, misses_};
}

}  // namespace gliclass::pipeline
