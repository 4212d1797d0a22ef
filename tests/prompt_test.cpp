// Prompt strings and label trees against the reference's (golden cases).
#include <gtest/gtest.h>

#include <fstream>

#include "gliclass/error.h"
#include "gliclass/labels.h"
#include "pipeline/prompt.h"
#include "test_util.h"

using namespace gliclass;
using gliclass::testing::golden_cases;
using gliclass::testing::golden_dir;
using gliclass::testing::read_json;

namespace {

std::vector<Example> examples_of(const nlohmann::json& input) {
  std::vector<Example> out;
  if (!input.contains("examples") || input["examples"].is_null()) return out;
  for (const auto& ex : input["examples"])
    out.push_back({ex.at("text").get<std::string>(), ex.at("labels").get<std::vector<std::string>>()});
  return out;
}

std::string prompt_of(const nlohmann::json& input) {
  return input.contains("prompt") && input["prompt"].is_string() ? input["prompt"].get<std::string>() : "";
}

}  // namespace

TEST(Prompt, MatchesReferenceStringsOnEveryUniEncoderCase) {
  GLICLASS_REQUIRE_GOLDEN();
  size_t checked = 0;
  for (const auto& name : golden_cases("uni-encoder", "")) {
    const auto config = read_json(golden_dir() / name / "config.json");
    const auto cases = read_json(golden_dir() / name / "cases.json");
    if (!cases.contains("inputs")) continue;
    const bool prompt_first = config.value("prompt_first", false);
    for (const auto& input : cases["inputs"]) {
      auto p = pipeline::build_uni_encoder_prompt(input.at("text").get<std::string>(),
                                                  input.at("labels").get<std::vector<std::string>>(),
                                                  prompt_of(input), examples_of(input), prompt_first);
      EXPECT_EQ(p.str, input.at("model_input_string").get<std::string>()) << name << "/" << input["id"];
      EXPECT_EQ(p.str.substr(p.text.begin, p.text.end - p.text.begin), input.at("text").get<std::string>());
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST(Prompt, PerTextPromptsAndExamplesOfPipelineCalls) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto cases = read_json(golden_dir() / "pipeline_features_deberta" / "cases.json");
  size_t checked = 0;
  for (const auto& call : cases.at("pipeline_calls")) {
    for (const auto& item : call.at("items")) {
      if (!item["text_after_rac"].is_null()) continue;  // retrieval-augmented text: another issue
      auto p = pipeline::build_uni_encoder_prompt(item.at("text").get<std::string>(),
                                                  item.at("labels").get<std::vector<std::string>>(),
                                                  prompt_of(item), examples_of(item), true);
      EXPECT_EQ(p.str, item.at("model_input_string").get<std::string>()) << call["id"];
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST(Labels, FlattensTreesLikeTheReference) {
  GLICLASS_REQUIRE_GOLDEN();
  // Key order matters here: read the file as ordered JSON.
  std::ifstream in(golden_dir() / "pipeline_features_deberta" / "cases.json");
  const auto cases = nlohmann::ordered_json::parse(in);
  size_t checked = 0;
  for (const auto& call : cases.at("pipeline_calls")) {
    const auto& args = call.at("args");
    const auto sep = call.at("pipeline_init").value("label_separator", std::string("."));
    const nlohmann::ordered_json& labels = args.at("labels");
    if (!labels.is_object() && !(labels.is_array() && !labels.empty() && labels[0].is_object())) continue;
    const size_t n = call.at("items").size();
    for (size_t i = 0; i < n; ++i) {
      const auto& tree = labels.is_object() ? labels : labels[i];
      const auto flat = flatten_labels(tree, sep);
      EXPECT_EQ(flat, call["items"][i].at("labels").get<std::vector<std::string>>()) << call["id"];
      if (args.value("return_hierarchical", false) && call["items"][i].value("classification_type", "") ==
                                                          std::string("multi-label")) {
        const auto scores = call["items"][i].at("scores_sigmoid").get<std::vector<float>>();
        auto nested = nest_scores(tree, flat, scores, sep);
        // Same nesting and keys as the reference's output.
        const auto& expected = call.at("output")[i];
        EXPECT_EQ(nested.dump().size() > 2, true);
        std::function<void(const nlohmann::ordered_json&, const nlohmann::ordered_json&)> same =
            [&](const nlohmann::ordered_json& a, const nlohmann::ordered_json& b) {
              ASSERT_EQ(a.is_object(), b.is_object()) << call["id"];
              if (!a.is_object()) {
                EXPECT_NEAR(a.get<double>(), b.get<double>(), 1e-5) << call["id"];
                return;
              }
              ASSERT_EQ(a.size(), b.size()) << call["id"];
              auto ia = a.begin();
              auto ib = b.begin();
              for (; ia != a.end(); ++ia, ++ib) {
                EXPECT_EQ(ia.key(), ib.key()) << call["id"];
                same(ia.value(), ib.value());
              }
            };
        same(nested, expected);
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST(Labels, RejectsMalformedTrees) {
  EXPECT_THROW(flatten_labels(nlohmann::ordered_json::parse(R"({"a": 3})")), InputError);
  EXPECT_THROW(flatten_labels(nlohmann::ordered_json::parse(R"({"a": [["x"]]})")), InputError);
  EXPECT_THROW(flatten_labels(nlohmann::ordered_json::parse(R"({"": ["x"]})")), InputError);
  EXPECT_EQ(flatten_labels(nlohmann::ordered_json::parse(R"(["x", "y"])")),
            (std::vector<std::string>{"x", "y"}));
}
