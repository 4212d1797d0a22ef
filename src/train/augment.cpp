#include "train/augment.h"

#include <algorithm>
#include <unordered_set>

namespace gliclass::train {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void attach(std::string& text, const std::string& extra, Rng& rng) {
  if (uniform_int(rng, 0, 1)) text = extra + " " + text;
  else text = text + " " + extra;
}

}  // namespace

AugmentOptions AugmentOptions::none() {
  AugmentOptions o;
  o.remove_labels = o.add_labels = o.add_text = o.synonyms = o.descriptions = o.examples = 0;
  return o;
}

Augmenter::Augmenter(const std::vector<TrainExample>& pool, LabelDescriptions descriptions,
                     AugmentOptions options)
    : pool_(pool), descriptions_(std::move(descriptions)), options_(options), labels_(collect_labels(pool)) {
  for (size_t i = 0; i < pool_.size(); ++i)
    for (const auto& t : pool_[i].true_labels)
      if (t.second > 0) by_true_label_[t.first].push_back(i);
}

void Augmenter::remove_labels(TrainExample& item, Rng& rng) const {
  const auto n = static_cast<int64_t>(item.all_labels.size());
  if (n <= 1) return;
  const auto k = static_cast<size_t>(uniform_int(rng, 1, n));
  if (options_.keep_top_label && !item.true_labels.empty()) {
    // The answer plus k-1 of the others, the answer at a random place.
    const std::string top = item.top_label();
    std::vector<std::string> others;
    for (const auto& l : item.all_labels)
      if (l != top) others.push_back(l);
    item.all_labels = sample(others, k - 1, rng);
    const auto at = uniform_int(rng, 0, static_cast<int64_t>(item.all_labels.size()));
    item.all_labels.insert(item.all_labels.begin() + at, top);
  } else {
    item.all_labels = sample(item.all_labels, k, rng);
  }
  auto& t = item.true_labels;
  t.erase(std::remove_if(t.begin(), t.end(), [&](const auto& p) { return !contains(item.all_labels, p.first); }),
          t.end());
}

void Augmenter::add_labels(TrainExample& item, Rng& rng) const {
  if (labels_.empty()) return;
  const auto most = std::min<int64_t>(static_cast<int64_t>(item.all_labels.size()) + 1,
                                      static_cast<int64_t>(labels_.size()));
  for (auto& l : sample(labels_, static_cast<size_t>(uniform_int(rng, 1, most)), rng))
    if (!contains(item.all_labels, l)) item.all_labels.push_back(std::move(l));
}

void Augmenter::add_text(TrainExample& item, Rng& rng) const {
  if (pool_.empty()) return;
  const auto& other = pool_[static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(pool_.size()) - 1))];
  for (const auto& l : other.all_labels)
    if (contains(item.all_labels, l)) return;  // related: left alone, as the reference does
  attach(item.text, other.text, rng);
}

void Augmenter::add_synonyms(TrainExample& item, Rng& rng) const {
  if (descriptions_.empty()) return;
  for (auto& label : item.all_labels) {
    auto it = descriptions_.find(label);
    if (it == descriptions_.end() || it->second.synonyms.empty()) continue;
    if (!(uniform01(rng) < 0.5)) continue;
    const auto& syn = it->second.synonyms;
    const std::string& pick = syn[static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(syn.size()) - 1))];
    if (pick == label || contains(item.all_labels, pick)) continue;
    for (auto& t : item.true_labels)
      if (t.first == label) t.first = pick;
    label = pick;
  }
}

void Augmenter::add_descriptions(TrainExample& item, Rng& rng) const {
  if (descriptions_.empty() || item.all_labels.empty()) return;
  const auto most = std::min<int64_t>(3, static_cast<int64_t>(item.all_labels.size()));
  std::string joined;
  for (const auto& label : sample(item.all_labels, static_cast<size_t>(uniform_int(rng, 1, most)), rng)) {
    auto it = descriptions_.find(label);
    if (it == descriptions_.end() || it->second.descriptions.empty()) continue;
    const auto& d = it->second.descriptions;
    if (!joined.empty()) joined += " ";
    joined += label + ": " + d[static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(d.size()) - 1))];
  }
  if (!joined.empty()) attach(item.text, joined, rng);
}

void Augmenter::add_examples(TrainExample& item, long self, Rng& rng) const {
  if (item.all_labels.empty()) return;
  std::vector<Example> candidates = item.examples;
  if (candidates.empty()) {
    // Data-set items with a true label among the candidates, in pool order.
    std::vector<size_t> hits;
    for (const auto& l : item.all_labels) {
      auto it = by_true_label_.find(l);
      if (it != by_true_label_.end()) hits.insert(hits.end(), it->second.begin(), it->second.end());
    }
    std::sort(hits.begin(), hits.end());
    hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
    hits.erase(std::remove(hits.begin(), hits.end(), static_cast<size_t>(self)), hits.end());
    if (hits.empty()) return;
    // The reference shuffles the candidates, keeps max_examples and samples
    // 1..2 of those: the same as sampling 1..2 of all candidates uniformly.
    const auto top = std::min<int64_t>(static_cast<int64_t>(options_.max_examples), static_cast<int64_t>(hits.size()));
    const auto k = static_cast<size_t>(uniform_int(rng, 1, std::min<int64_t>(2, std::max<int64_t>(1, top))));
    for (size_t i : sample(hits, k, rng)) {
      Example ex;
      ex.text = pool_[i].text;
      for (const auto& t : pool_[i].true_labels)
        if (t.second > 0) ex.labels.push_back(t.first);
      candidates.push_back(std::move(ex));
    }
    item.examples = std::move(candidates);
    return;
  }
  shuffle(candidates, rng);
  if (candidates.size() > options_.max_examples) candidates.resize(std::max<size_t>(1, options_.max_examples));
  const auto k = static_cast<size_t>(uniform_int(rng, 1, std::min<int64_t>(2, static_cast<int64_t>(candidates.size()))));
  item.examples = sample(candidates, k, rng);
}

TrainExample Augmenter::augment(const TrainExample& base, long self, Rng& rng) const {
  TrainExample item = base;
  if (chance(rng, options_.remove_labels)) remove_labels(item, rng);
  if (chance(rng, options_.add_labels)) add_labels(item, rng);
  if (chance(rng, options_.add_text)) add_text(item, rng);
  if (chance(rng, options_.synonyms)) add_synonyms(item, rng);
  if (chance(rng, options_.descriptions)) add_descriptions(item, rng);
  if (chance(rng, options_.examples)) add_examples(item, self, rng);
  return item;
}

TrainExample Augmenter::draw(size_t index, Rng& rng) const {
  TrainExample item = augment(pool_.at(index), static_cast<long>(index), rng);
  if (options_.shuffle_labels) shuffle(item.all_labels, rng);
  // GLiClassDataset.format_examples: a random non-empty subset, in random order.
  if (!item.examples.empty()) {
    const auto k = uniform_int(rng, 1, static_cast<int64_t>(item.examples.size()));
    item.examples = sample(item.examples, static_cast<size_t>(k), rng);
  }
  return item;
}

}  // namespace gliclass::train
