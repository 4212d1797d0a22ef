#include "gliclass/labels.h"

#include <functional>
#include <unordered_map>

#include "gliclass/error.h"

namespace gliclass {
namespace {

using nlohmann::ordered_json;

void flatten_into(const ordered_json& node, const std::string& path, const std::string& sep,
                  std::vector<std::string>& out) {
  auto join = [&](const std::string& leaf) { return path.empty() ? leaf : path + sep + leaf; };
  if (node.is_string()) {
    out.push_back(join(node.get<std::string>()));
  } else if (node.is_array()) {
    for (const auto& leaf : node) {
      if (!leaf.is_string())
        throw InputError("labels: expected a string in the label list under '" + path + "', got " +
                         std::string(leaf.type_name()));
      out.push_back(join(leaf.get<std::string>()));
    }
  } else if (node.is_object()) {
    for (const auto& [key, child] : node.items()) {
      if (key.empty()) throw InputError("labels: empty key in the label tree under '" + path + "'");
      flatten_into(child, join(key), sep, out);
    }
  } else {
    throw InputError("labels: a label tree holds objects, lists of strings or strings, got " +
                     std::string(node.type_name()) + " under '" + path + "'");
  }
}

}  // namespace

std::vector<std::string> flatten_labels(const ordered_json& tree, const std::string& separator) {
  std::vector<std::string> out;
  flatten_into(tree, "", separator, out);
  return out;
}

ordered_json nest_scores(const ordered_json& tree, const std::vector<std::string>& labels,
                         const std::vector<float>& scores, const std::string& separator) {
  if (labels.size() != scores.size())
    throw InputError("labels: " + std::to_string(labels.size()) + " labels but " +
                     std::to_string(scores.size()) + " scores");
  std::unordered_map<std::string, float> by_label;
  for (size_t i = 0; i < labels.size(); ++i) by_label.emplace(labels[i], scores[i]);
  auto score_of = [&](const std::string& flat) {
    auto it = by_label.find(flat);
    if (it == by_label.end()) throw InputError("labels: no score for label '" + flat + "'");
    return it->second;
  };

  // Leaves become {leaf: score}; objects keep their keys.
  std::function<ordered_json(const ordered_json&, const std::string&)> nest =
      [&](const ordered_json& node, const std::string& path) -> ordered_json {
    auto join = [&](const std::string& leaf) { return path.empty() ? leaf : path + separator + leaf; };
    ordered_json out = ordered_json::object();
    if (node.is_string()) {
      out[node.get<std::string>()] = score_of(join(node.get<std::string>()));
    } else if (node.is_array()) {
      for (const auto& leaf : node) out[leaf.get<std::string>()] = score_of(join(leaf.get<std::string>()));
    } else {
      for (const auto& [key, child] : node.items()) {
        if (child.is_string() || child.is_array() || child.is_object())
          out[key] = nest(child, join(key));
      }
    }
    return out;
  };
  flatten_labels(tree, separator);  // validates the tree
  return nest(tree, "");
}

}  // namespace gliclass
