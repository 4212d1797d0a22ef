// Hierarchical label sets: {"topic": {"product": ["quality", "price"]},
// "urgent": "yes"} is classified as the flat labels "topic.product.quality",
// "topic.product.price", "urgent.yes", and scores can be nested back.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace gliclass {

// Flattens a label tree depth-first in key order. A value may be an object, a
// list of strings, or a single string; a plain list of strings is flat already.
// Throws InputError on anything else (numbers, nested lists, empty keys).
std::vector<std::string> flatten_labels(const nlohmann::ordered_json& tree,
                                        const std::string& separator = ".");

// The same nesting as `tree`, every leaf replaced by {leaf: score}. `labels`
// and `scores` are the flattened labels and their scores (same order).
nlohmann::ordered_json nest_scores(const nlohmann::ordered_json& tree,
                                   const std::vector<std::string>& labels,
                                   const std::vector<float>& scores,
                                   const std::string& separator = ".");

}  // namespace gliclass
