// Seeded randomness for training that gives the same numbers on every
// platform: std::mt19937_64 is fully specified by the standard, but the
// std::*_distribution classes are not, so the draws are written out here.
#pragma once
#include <algorithm>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace gliclass::train {

using Rng = std::mt19937_64;

// Stream ids for mix_seed, one per use, so a run's generators never overlap.
constexpr uint64_t kOrderStream = 1ULL << 40;    // the order of examples in an epoch
constexpr uint64_t kDropoutStream = 2ULL << 40;  // dropout masks
constexpr uint64_t kExampleStream = 3ULL << 40;  // per-example augmentation

// A seed for stream `stream` of a run seeded with `seed` (splitmix64 finaliser
// over both), so e.g. each (epoch, example) gets its own independent generator.
inline uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 53 random bits.
inline double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Uniform integer in [lo, hi] (inclusive, lo <= hi), unbiased by rejection.
inline int64_t uniform_int(Rng& rng, int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  if (span == 0) return static_cast<int64_t>(rng());  // the full 64-bit range
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t r;
  do r = rng();
  while (r >= limit);
  return lo + static_cast<int64_t>(r % span);
}

inline bool chance(Rng& rng, double p) { return p > 0 && uniform01(rng) < p; }

// Fisher-Yates shuffle.
template <typename T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const auto j = static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(i) - 1));
    std::swap(v[i - 1], v[j]);
  }
}

// k distinct elements of v in random order (k <= v.size()), like random.sample.
template <typename T>
std::vector<T> sample(const std::vector<T>& v, size_t k, Rng& rng) {
  std::vector<T> pool = v;
  for (size_t i = 0; i < k && i < pool.size(); ++i) {
    const auto j = static_cast<size_t>(uniform_int(rng, static_cast<int64_t>(i),
                                                   static_cast<int64_t>(pool.size()) - 1));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(std::min(k, pool.size()));
  return pool;
}

}  // namespace gliclass::train
