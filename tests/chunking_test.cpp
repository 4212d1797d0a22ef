// Long texts in windows, label groups and retrieval-augmented examples
// (issue "Long documents, thousands of labels"): golden parity with the
// reference's chunking pipeline and RAC calls, and the invariants that hold
// without goldens (one window = unchunked, label groups = one pass).
#include <gtest/gtest.h>

#include <map>

#include "gliclass/gliclass.h"
#include "pipeline/fit.h"
#include "pipeline/rac.h"
#include "pipeline/windows.h"
#include "test_util.h"
#include "tokenize/tokenizer.h"

using namespace gliclass;
using gliclass::testing::close;
using gliclass::testing::golden_dir;
using gliclass::testing::read_json;
using nlohmann::json;

namespace {

const char* kModelCase = "chunking_deberta";

ClassifyOptions chunking_options(const json& params, ClassificationType type) {
  ClassifyOptions o;
  o.type = type;
  o.chunking.size = params.at("text_chunk_size").get<size_t>();
  o.chunking.overlap = params.at("text_chunk_overlap").get<size_t>();
  o.labels_chunk_size = params.at("labels_chunk_size").get<size_t>();
  return o;
}

std::vector<RacExample> rac_of(const json& list) {
  std::vector<RacExample> out;
  for (const auto& ex : list)
    out.push_back({ex.at("text").get<std::string>(), ex.value("true_labels", std::vector<std::string>{}),
                   ex.value("all_labels", std::vector<std::string>{})});
  return out;
}

// The reference's per-label dict and prediction list against ours.
void expect_scores(const json& want_scores, const json& want_predictions, const ClassifyResult& got,
                   const std::string& where) {
  ASSERT_EQ(got.labels.size(), want_scores.size()) << where;
  for (size_t k = 0; k < got.labels.size(); ++k)
    EXPECT_NEAR(got.scores[k], want_scores.at(got.labels[k]).get<double>(), 2e-5) << where << " " << got.labels[k];
  ASSERT_EQ(got.predictions.size(), want_predictions.size()) << where;
  for (size_t i = 0; i < got.predictions.size(); ++i)
    EXPECT_EQ(got.predictions[i].label, want_predictions[i].at("label").get<std::string>()) << where;
}

}  // namespace

TEST(Chunking, WindowsAreTheReferencesCharacterSpans) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto dir = golden_dir() / kModelCase;
  const auto tok = tokenize::Tokenizer::from_dir(dir);
  const auto cases = read_json(dir / "cases.json");
  size_t checked = 0;
  for (const auto& call : cases.at("chunking").at("calls")) {
    TextChunking c;
    c.size = call.at("params").at("text_chunk_size").get<size_t>();
    c.overlap = call.at("params").at("text_chunk_overlap").get<size_t>();
    for (size_t t = 0; t < call.at("texts").size(); ++t) {
      const auto text = call["texts"][t].get<std::string>();
      const auto& want = call.at("per_text")[t].at("windows");
      const auto got = pipeline::text_windows(*tok, text, c);
      ASSERT_EQ(got.size(), want.size()) << call["id"];
      for (size_t w = 0; w < got.size(); ++w)
        EXPECT_EQ(text.substr(got[w].begin, got[w].end - got[w].begin), want[w].at("text").get<std::string>())
            << call["id"] << " window " << w;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST(Chunking, EveryForwardPassHasTheReferencesTokenIds) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto dir = golden_dir() / kModelCase;
  const auto tok = tokenize::Tokenizer::from_dir(dir);
  const auto cases = read_json(dir / "cases.json");
  const auto max_length = cases.at("chunking").at("max_length").get<size_t>();
  size_t checked = 0;
  for (const auto& call : cases.at("chunking").at("calls")) {
    const std::string prompt = call["prompt"].is_string() ? call["prompt"].get<std::string>() : "";
    for (const auto& pass : call.at("passes")) {
      const auto labels = pass.at("labels").get<std::vector<std::string>>();
      for (size_t i = 0; i < pass.at("texts").size(); ++i) {
        const size_t t = pass["texts"][i].get<size_t>();
        const auto& windows = call.at("per_text")[t].at("windows");
        const std::string text = pass["window"].is_null()
                                     ? call["texts"][t].get<std::string>()
                                     : windows[pass["window"].get<size_t>()].at("text").get<std::string>();
        const auto fitted = pipeline::fit_uni_encoder(*tok, text, labels, prompt, {}, true, max_length);
        auto want = pass.at("input_ids")[i].get<std::vector<int64_t>>();
        const auto mask = pass.at("attention_mask")[i].get<std::vector<int64_t>>();
        want.resize(std::count(mask.begin(), mask.end(), 1));  // the reference pads a batch of two
        EXPECT_EQ(fitted.ids, want) << call["id"] << " group " << pass["group"];
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST(Chunking, CombinedScoresMatchTheReferencesChunkingPipeline) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto dir = golden_dir() / kModelCase;
  const auto cases = read_json(dir / "cases.json");
  ClassifierOptions copts;
  copts.max_length = cases.at("chunking").at("max_length").get<int64_t>();
  const auto clf = Classifier::load(dir.string(), copts);
  size_t checked = 0;
  for (const auto& call : cases.at("chunking").at("calls")) {
    std::vector<ClassifyRequest> reqs;
    for (const auto& text : call.at("texts")) {
      ClassifyRequest r;
      r.text = text.get<std::string>();
      r.labels = call.at("labels").get<std::vector<std::string>>();
      if (call["prompt"].is_string()) r.prompt = call["prompt"].get<std::string>();
      reqs.push_back(r);
    }
    for (auto type : {ClassificationType::kMultiLabel, ClassificationType::kSingleLabel}) {
      const bool multi = type == ClassificationType::kMultiLabel;
      const auto results = clf.classify(reqs, chunking_options(call.at("params"), type));
      for (size_t t = 0; t < reqs.size(); ++t) {
        const auto& want = call.at("per_text")[t];
        const std::string where = call["id"].get<std::string>() + (multi ? " multi" : " single");
        EXPECT_EQ(results[t].windows, want.at("windows").size()) << where;
        EXPECT_EQ(results[t].label_groups, call.at("label_groups").size()) << where;
        expect_scores(want.at(multi ? "combined_scores_multi_label" : "combined_scores_single_label"),
                      want.at(multi ? "pipeline_multi_label_t0.5" : "pipeline_single_label"), results[t], where);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST(Rac, AugmentedTextAndLogitsMatchTheReference) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto dir = golden_dir() / "pipeline_features_deberta";
  const auto cases = read_json(dir / "cases.json");
  ClassifierOptions copts;
  copts.max_length = cases.at("pipeline").at("max_length").get<int64_t>();
  const auto clf = Classifier::load(dir.string(), copts);
  size_t checked = 0;
  for (const auto& call : cases.at("pipeline_calls")) {
    const auto& args = call.at("args");
    if (!args.contains("rac_examples")) continue;
    const auto& items = call.at("items");
    for (size_t i = 0; i < items.size(); ++i) {
      const auto& item = items[i];
      // One list for a single text, one list per text otherwise.
      const auto rac = rac_of(args.at("texts").is_string() ? args["rac_examples"] : args["rac_examples"][i]);
      const auto text = item.at("text").get<std::string>();
      EXPECT_EQ(text + pipeline::format_rac_examples(rac), item.at("text_after_rac").get<std::string>())
          << call["id"];
      ClassifyRequest r;
      r.text = text;
      r.labels = item.at("labels").get<std::vector<std::string>>();
      r.rac_examples = rac;
      const auto got = clf.classify(r);
      const auto want = item.at("logits").get<std::vector<float>>();
      ASSERT_EQ(got.logits.size(), want.size()) << call["id"];
      for (size_t k = 0; k < want.size(); ++k) EXPECT_TRUE(close(got.logits[k], want[k], 1e-4)) << call["id"];
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST(Rac, FalseLabelsKeepTheOrderTheyWereGivenIn) {
  const std::vector<RacExample> rac{{"a text", {"x"}, {"z", "x", "y", "z"}}, {"dropped", {}, {"y"}}};
  EXPECT_EQ(pipeline::format_rac_examples(rac),
            " <<EXAMPLE>> a text <<TRUE_LABEL>> x <<FALSE_LABEL>> z <<FALSE_LABEL>> y <</EXAMPLE>>");
  EXPECT_EQ(pipeline::format_rac_examples({}), "");
}

TEST(Chunking, ATextThatFitsOneWindowGetsTheUnchunkedScores) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto dir = golden_dir() / "deberta_first_simple";
  const auto clf = Classifier::load(dir.string());
  ClassifyRequest r{"The central bank raised rates; markets fell.", {"finance", "sports", "weather"}};
  for (auto type : {ClassificationType::kMultiLabel, ClassificationType::kSingleLabel}) {
    ClassifyOptions plain;
    plain.type = type;
    const auto whole = clf.classify(r, plain);
    for (auto unit : {ChunkUnit::kCharacters, ChunkUnit::kTokens}) {
      ClassifyOptions windowed = plain;
      windowed.chunking.size = 1000;
      windowed.chunking.unit = unit;
      const auto one = clf.classify(r, windowed);
      EXPECT_EQ(one.windows, 1u);
      EXPECT_EQ(one.scores, whole.scores);
      EXPECT_EQ(one.logits, whole.logits);
    }
  }
}

TEST(Chunking, LabelGroupsEqualOnePassWhenAllLabelsFit) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto clf = Classifier::load((golden_dir() / "deberta_first_simple").string());
  ClassifyRequest r{"Rain and wind all weekend, then a sunny Monday for the match.",
                    {"weather", "sports", "finance", "travel", "food", "music", "politics"}};
  const auto one = clf.classify(r);
  EXPECT_EQ(one.label_groups, 1u);
  // Groups as large as the label list: the same single pass.
  ClassifyOptions whole;
  whole.labels_chunk_size = r.labels.size();
  const auto same = clf.classify(r, whole);
  EXPECT_EQ(same.label_groups, 1u);
  EXPECT_EQ(same.logits, one.logits);
  // Smaller groups: labels attend to each other, so each group's logits are
  // those of a request holding that group's labels alone, concatenated.
  ClassifyOptions grouped;
  grouped.labels_chunk_size = 3;
  const auto split = clf.classify(r, grouped);
  EXPECT_EQ(split.label_groups, 3u);
  ASSERT_EQ(split.logits.size(), r.labels.size());
  for (size_t g = 0; g < r.labels.size(); g += 3) {
    ClassifyRequest part{r.text, {r.labels.begin() + g, r.labels.begin() + std::min(r.labels.size(), g + 3)}};
    const auto alone = clf.classify(part);
    for (size_t k = 0; k < alone.logits.size(); ++k)
      EXPECT_TRUE(close(split.logits[g + k], alone.logits[k], 1e-5)) << "label " << g + k;
  }
}

TEST(Chunking, TokenWindowsCoverTheTextWithTheirOverlap) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto tok = tokenize::Tokenizer::from_dir(golden_dir() / "deberta_first_simple");
  std::string text;
  for (int i = 0; i < 40; ++i) text += "Sentence number " + std::to_string(i) + " talks about weather. ";
  TextChunking c;
  c.size = 50;
  c.overlap = 10;
  c.unit = ChunkUnit::kTokens;
  const auto windows = pipeline::text_windows(*tok, text, c);
  ASSERT_GT(windows.size(), 2u);
  EXPECT_EQ(windows.front().begin, 0u);
  EXPECT_EQ(windows.back().end, text.size());
  for (size_t w = 0; w < windows.size(); ++w) {
    const auto piece = text.substr(windows[w].begin, windows[w].end - windows[w].begin);
    EXPECT_LE(tok->encode(piece).size(), c.size + 1) << w;  // a boundary may merge differently
    if (w > 0) {
      EXPECT_LT(windows[w].begin, windows[w - 1].end) << "windows " << w - 1 << " and " << w << " do not overlap";
      EXPECT_GT(windows[w].begin, windows[w - 1].begin);
    }
  }
}

TEST(Chunking, BadWindowSettingsAreNamed) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto clf = Classifier::load((golden_dir() / "deberta_first_simple").string());
  ClassifyOptions o;
  o.chunking.size = 100;
  o.chunking.overlap = 100;
  try {
    clf.classify(ClassifyRequest{"text", {"a"}}, o);
    FAIL() << "an overlap as large as the window was accepted";
  } catch (const InputError& e) {
    EXPECT_TRUE(gliclass::testing::contains(e.what(), "overlap")) << e.what();
  }
  EXPECT_THROW(chunk_unit_from_name("words"), InputError);
  EXPECT_THROW(window_combine_from_name("min"), InputError);
}

TEST(Chunking, MeanCombinationAveragesTheWindowsScores) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto clf = Classifier::load((golden_dir() / "deberta_first_simple").string());
  const std::string a = "Storms and floods along the coast. ", b = "The team won the cup at home today.";
  ASSERT_EQ(a.size(), b.size());
  ClassifyRequest r{a + b, {"weather", "sports"}};
  ClassifyOptions o;
  o.chunking.size = a.size();  // two windows, no overlap: exactly a and b (ASCII)
  o.chunking.overlap = 0;
  o.chunking.combine = WindowCombine::kMean;
  const auto mean = clf.classify(r, o);
  ASSERT_EQ(mean.windows, 2u);
  const auto ra = clf.classify(ClassifyRequest{a, r.labels}), rb = clf.classify(ClassifyRequest{b, r.labels});
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(mean.scores[k], (ra.scores[k] + rb.scores[k]) / 2, 1e-6);
    EXPECT_NEAR(mean.logits[k], std::max(ra.logits[k], rb.logits[k]), 1e-5);
  }
  o.chunking.combine = WindowCombine::kMax;
  const auto max = clf.classify(r, o);
  for (size_t k = 0; k < 2; ++k) EXPECT_NEAR(max.scores[k], std::max(ra.scores[k], rb.scores[k]), 1e-6);
}

// 200,000 characters against 5,000 labels completes: windows x label groups,
// run in waves. (Its peak memory is measured by bench_long_inputs.)
TEST(Chunking, AHugeTextAgainstThousandsOfLabelsCompletes) {
  GLICLASS_REQUIRE_GOLDEN();
  ClassifierOptions copts;
  copts.max_length = 512;
  copts.max_labels = 5000;
  const auto clf = Classifier::load((golden_dir() / "deberta_first_simple").string(), copts);
  ClassifyRequest r;
  const std::string sentence = "The quick brown fox jumps over the lazy dog near the river bank. ";
  while (r.text.size() < 200000) r.text += sentence;
  for (int i = 0; i < 5000; ++i) r.labels.push_back("topic " + std::to_string(i));
  ClassifyOptions o;
  o.chunking.size = 20000;
  const auto res = clf.classify(r, o);
  EXPECT_EQ(res.labels.size(), 5000u);
  EXPECT_GT(res.windows, 10u);
  EXPECT_GT(res.label_groups, 10u);
  EXPECT_TRUE(res.truncated);  // 20,000-character windows are cut to max_length
  for (float s : res.scores) ASSERT_TRUE(s >= 0.0f && s <= 1.0f);
}
