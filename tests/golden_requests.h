// Golden cases as library requests: the inputs of cases.json as
// ClassifyRequests, and the reference's pipeline outputs as label sets.
#pragma once
#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "gliclass/classifier.h"

namespace gliclass::testing {

inline ClassifyRequest request_of(const nlohmann::json& input) {
  ClassifyRequest r;
  r.text = input.at("text").get<std::string>();
  r.labels = input.at("labels").get<std::vector<std::string>>();
  if (input.contains("prompt") && input["prompt"].is_string()) r.prompt = input["prompt"].get<std::string>();
  if (input.contains("examples") && input["examples"].is_array())
    for (const auto& ex : input["examples"])
      r.examples.push_back({ex.at("text").get<std::string>(), ex.at("labels").get<std::vector<std::string>>()});
  return r;
}

// The labels of the reference's pipeline output ([{"label","score"}]).
inline std::set<std::string> label_set(const nlohmann::json& preds) {
  std::set<std::string> out;
  for (const auto& p : preds) out.insert(p.at("label").get<std::string>());
  return out;
}

inline std::set<std::string> label_set(const std::vector<LabelScore>& preds) {
  std::set<std::string> out;
  for (const auto& p : preds) out.insert(p.label);
  return out;
}

// The options the golden pipeline ran with.
inline ClassifierOptions golden_options(const nlohmann::json& cases) {
  ClassifierOptions o;
  o.max_length = cases.at("pipeline").at("max_length").get<int64_t>();
  return o;
}

}  // namespace gliclass::testing
