// Training data parsing (reference format, errors that name line and field)
// and the seeded augmentations.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "gliclass/error.h"
#include "train/augment.h"
#include "train/data.h"

using namespace gliclass::train;

namespace {

std::string error_of(const std::string& content) {
  try {
    parse_examples(content, "t.jsonl");
  } catch (const gliclass::InputError& e) {
    return e.what();
  }
  return "";
}

std::vector<TrainExample> pool() {
  return parse_examples(
      R"({"text": "a cat on a mat", "all_labels": ["animal", "food", "sport"], "true_labels": ["animal"]}
{"text": "pizza night", "all_labels": ["food", "animal"], "true_labels": ["food"]}
{"text": "football final", "all_labels": ["sport", "politics"], "true_labels": ["sport"]}
{"text": "election news", "all_labels": ["politics", "weather"], "true_labels": ["politics"]}
{"text": "rain tomorrow", "all_labels": ["weather", "sport"], "true_labels": ["weather"]}
)",
      "pool");
}

bool same(const TrainExample& a, const TrainExample& b) {
  if (a.text != b.text || a.all_labels != b.all_labels || a.true_labels != b.true_labels) return false;
  if (a.examples.size() != b.examples.size()) return false;
  for (size_t i = 0; i < a.examples.size(); ++i)
    if (a.examples[i].text != b.examples[i].text || a.examples[i].labels != b.examples[i].labels) return false;
  return true;
}

}  // namespace

TEST(TrainData, ReadsJsonlAndJsonListWithAllFields) {
  const std::string line =
      R"({"text": "t", "all_labels": ["a", "b", "a"], "true_labels": {"a": 0.8, "b": 0}, "prompt": "p",)"
      R"( "examples": [{"text": "e", "labels": ["a"]}, {"text": "f", "true_labels": ["b"]}], "extra": 1})";
  for (const std::string& content : {line + "\n\n", "[" + line + "]"}) {
    auto ex = parse_examples(content, "x");
    ASSERT_EQ(ex.size(), 1u);
    EXPECT_EQ(ex[0].text, "t");
    EXPECT_EQ(ex[0].all_labels, (std::vector<std::string>{"a", "b"}));  // duplicate dropped
    EXPECT_FLOAT_EQ(ex[0].target("a"), 0.8f);
    EXPECT_FLOAT_EQ(ex[0].target("b"), 0.0f);
    EXPECT_EQ(ex[0].top_label(), "a");
    EXPECT_EQ(ex[0].prompt, "p");
    ASSERT_EQ(ex[0].examples.size(), 2u);
    EXPECT_EQ(ex[0].examples[1].labels, (std::vector<std::string>{"b"}));
  }
  auto list_form = parse_examples(R"({"text": "t", "all_labels": ["x", "y"], "true_labels": ["y"]})", "x");
  EXPECT_FLOAT_EQ(list_form[0].target("y"), 1.0f);
  EXPECT_FLOAT_EQ(list_form[0].target("x"), 0.0f);
}

TEST(TrainData, ErrorsNameTheLineAndTheField) {
  const std::string good = R"({"text": "t", "all_labels": ["a"], "true_labels": ["a"]})";
  EXPECT_EQ(error_of(good + "\n" + R"({"text": 3, "all_labels": ["a"], "true_labels": []})"),
            "data: t.jsonl line 2: field 'text' must be a string (got number)");
  EXPECT_EQ(error_of(good + "\n\n" + R"({"text": "t", "true_labels": []})"),
            "data: t.jsonl line 3: missing field 'all_labels'");
  EXPECT_EQ(error_of(R"({"text": "t", "all_labels": ["a"], "true_labels": ["b"]})"),
            "data: t.jsonl line 1: field 'true_labels': 'b' is not in all_labels");
  EXPECT_EQ(error_of(R"({"text": "t", "all_labels": ["a"], "true_labels": {"a": 2}})"),
            "data: t.jsonl line 1: field 'true_labels' score of 'a' must be in [0, 1] (got 2)");
  EXPECT_EQ(error_of(R"({"text": "t", "all_labels": [], "true_labels": []})"),
            "data: t.jsonl line 1: field 'all_labels' is empty (expected at least one label)");
  EXPECT_EQ(error_of(R"({"text": "t", "all_labels": ["a", 1], "true_labels": []})"),
            "data: t.jsonl line 1: field 'all_labels' item 1 must be a string (got number)");
  EXPECT_NE(error_of("{not json").find("t.jsonl line 1: not valid JSON"), std::string::npos);
  EXPECT_EQ(error_of("[" + good + ", 5]"), "data: t.jsonl item 2: expected a JSON object (got number)");
}

TEST(TrainData, LabelDescriptions) {
  auto d = parse_label_descriptions(
      R"([{"label": "sport", "descriptions": ["games"], "synonyms": ["athletics", "sports"]}, {"label": "food"}])", "d");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d["sport"].synonyms.size(), 2u);
  EXPECT_EQ(d["sport"].descriptions, (std::vector<std::string>{"games"}));
  EXPECT_THROW(parse_label_descriptions(R"([{"descriptions": []}])", "d"), gliclass::InputError);
}

TEST(TrainAugment, SameSeedSameViewsOtherSeedOtherViews) {
  const auto data = pool();
  Augmenter aug(data, {}, AugmentOptions{});
  size_t differ = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    for (uint64_t s = 0; s < 20; ++s) {
      Rng a(mix_seed(s, i)), b(mix_seed(s, i)), c(mix_seed(s + 100, i));
      auto va = aug.draw(i, a), vb = aug.draw(i, b), vc = aug.draw(i, c);
      EXPECT_TRUE(same(va, vb));
      differ += same(va, vc) ? 0 : 1;
      // A view is always consistent: true labels among the candidates, no duplicates.
      std::set<std::string> cands(va.all_labels.begin(), va.all_labels.end());
      EXPECT_EQ(cands.size(), va.all_labels.size());
      for (const auto& t : va.true_labels) EXPECT_TRUE(cands.count(t.first));
    }
  }
  EXPECT_GT(differ, 0u);
}

TEST(TrainAugment, EachAugmentationDoesWhatItSays) {
  const auto data = pool();
  LabelDescriptions d;
  d["animal"].synonyms = {"creature"};
  d["animal"].descriptions = {"living beings"};
  d["food"].descriptions = {"things to eat"};
  d["sport"].descriptions = {"games"};
  Rng rng(1);

  auto only = [](double AugmentOptions::*field) {
    AugmentOptions o = AugmentOptions::none();
    o.*field = 1.0;
    return o;
  };
  {
    Augmenter a(data, d, only(&AugmentOptions::remove_labels));
    for (int i = 0; i < 20; ++i) {
      auto v = a.augment(data[0], 0, rng);
      EXPECT_GE(v.all_labels.size(), 1u);
      EXPECT_LE(v.all_labels.size(), 3u);
    }
  }
  {
    Augmenter a(data, d, only(&AugmentOptions::add_labels));
    auto v = a.augment(data[3], 3, rng);
    EXPECT_GT(v.all_labels.size(), 2u);
    EXPECT_FLOAT_EQ(v.target("politics"), 1.0f);
  }
  {
    // The only item unrelated to "a cat on a mat" (no shared candidate) is "election news".
    Augmenter a(data, d, only(&AugmentOptions::add_text));
    bool grew = false;
    for (int i = 0; i < 30; ++i) {
      auto v = a.augment(data[0], 0, rng);
      if (v.text == data[0].text) continue;
      grew = true;
      EXPECT_TRUE(v.text == "election news a cat on a mat" || v.text == "a cat on a mat election news") << v.text;
    }
    EXPECT_TRUE(grew);
  }
  {
    Augmenter a(data, d, only(&AugmentOptions::synonyms));
    bool swapped = false;
    for (int i = 0; i < 30; ++i) {
      auto v = a.augment(data[0], 0, rng);
      if (v.all_labels[0] == "creature") {
        swapped = true;
        EXPECT_FLOAT_EQ(v.target("creature"), 1.0f);  // the synonym keeps the label's target
      }
    }
    EXPECT_TRUE(swapped);
  }
  {
    Augmenter a(data, d, only(&AugmentOptions::descriptions));
    auto v = a.augment(data[0], 0, rng);
    EXPECT_NE(v.text.find(": "), std::string::npos);
  }
  {
    Augmenter a(data, d, only(&AugmentOptions::examples));
    for (int i = 0; i < 20; ++i) {
      auto v = a.augment(data[0], 0, rng);
      ASSERT_GE(v.examples.size(), 1u);
      ASSERT_LE(v.examples.size(), 2u);
      // Items with a true label among the candidates, never the item itself.
      for (const auto& e : v.examples) EXPECT_TRUE(e.text == "pizza night" || e.text == "football final") << e.text;
    }
  }
}

TEST(TrainAugment, SingleLabelRemovalKeepsTheAnswer) {
  const auto data = pool();
  AugmentOptions o = AugmentOptions::none();
  o.remove_labels = 1.0;
  o.keep_top_label = true;
  Augmenter a(data, {}, o);
  Rng rng(5);
  for (int i = 0; i < 50; ++i) {
    auto v = a.augment(data[0], 0, rng);
    EXPECT_NE(std::find(v.all_labels.begin(), v.all_labels.end(), "animal"), v.all_labels.end());
  }
}
