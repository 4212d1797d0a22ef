// The bi-encoders' label cache alone: LRU order, the byte bound, copies, and
// many threads at once. Also run under ThreadSanitizer
// (scripts/test-sanitizers.sh).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <thread>
#include <vector>

#include "pipeline/label_cache.h"

namespace gliclass::pipeline {
namespace {

torch::Tensor vec(float v) { return torch::full({8}, v); }
constexpr size_t kEntry = 8 * sizeof(float) + 1;  // an 8-float vector and a 1-byte label

TEST(LabelCache, KeepsTheBoundDroppingTheLeastRecentlyUsed) {
  LabelCache cache(3 * kEntry);
  cache.put(0, "a", vec(1));
  cache.put(0, "b", vec(2));
  cache.put(0, "c", vec(3));
  ASSERT_TRUE(cache.get(0, "a"));  // a is now the most recently used
  cache.put(0, "d", vec(4));       // evicts b
  EXPECT_FALSE(cache.get(0, "b"));
  EXPECT_TRUE(cache.get(0, "c"));
  EXPECT_EQ(cache.get(0, "a")->max().item<float>(), 1.0f);
  EXPECT_FALSE(cache.get(1, "a")) << "entries are per adapter";
  const auto s = cache.stats();
  EXPECT_EQ(s.entries, 3u);
  EXPECT_LE(s.bytes, 3 * kEntry);
  EXPECT_EQ(s.hits, 3u);
  EXPECT_EQ(s.misses, 2u);
}

TEST(LabelCache, ZeroBytesKeepsNothing) {
  LabelCache off(0);
  off.put(0, "a", vec(1));
  EXPECT_FALSE(off.get(0, "a"));
  EXPECT_EQ(off.stats().entries, 0u);
}

TEST(LabelCache, StoredVectorsAreCopies) {
  LabelCache cache(1 << 10);
  auto v = vec(1);
  cache.put(0, "a", v);
  v.fill_(7);
  EXPECT_EQ(cache.get(0, "a")->max().item<float>(), 1.0f);
}

TEST(LabelCache, ManyThreadsKeepTheBoundAndTheValues) {
  torch::set_num_threads(1);
  LabelCache cache(16 * kEntry);  // far fewer entries than labels: constant eviction
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const int label = (i * 7 + t) % 40;
        const std::string key(1, static_cast<char>('A' + label));
        if (auto hit = cache.get(0, key)) {
          if (hit->max().item<float>() != static_cast<float>(label)) ++wrong;
        } else {
          cache.put(0, key, vec(static_cast<float>(label)));
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  const auto s = cache.stats();
  EXPECT_LE(s.bytes, 16 * kEntry);
  EXPECT_LE(s.entries, 16u);
  EXPECT_EQ(s.hits + s.misses, 8u * 2000u);
}

}  // namespace
}  // namespace gliclass::pipeline
