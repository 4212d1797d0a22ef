#include "train/data.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "gliclass/error.h"

namespace gliclass::train {
namespace {

using json = nlohmann::json;

// "data: FILE line 3: " or "data: FILE item 3: ".
struct Where {
  std::string source;
  const char* unit;
  size_t number;
  std::string prefix() const { return "data: " + source + " " + unit + " " + std::to_string(number) + ": "; }
};

std::string type_of(const json& j) { return j.type_name(); }

[[noreturn]] void fail(const Where& w, const std::string& what) { throw InputError(w.prefix() + what); }

std::string read_string(const json& obj, const char* key, const Where& w, bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || (!required && it->is_null())) {
    if (required) fail(w, std::string("missing field '") + key + "'");
    return "";
  }
  if (!it->is_string())
    fail(w, std::string("field '") + key + "' must be a string (got " + type_of(*it) + ")");
  return it->get<std::string>();
}

std::vector<std::string> string_list(const json& j, const std::string& field, const Where& w) {
  if (!j.is_array()) fail(w, "field '" + field + "' must be a list of strings (got " + type_of(j) + ")");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string())
      fail(w, "field '" + field + "' item " + std::to_string(i) + " must be a string (got " +
                  type_of(j[i]) + ")");
    out.push_back(j[i].get<std::string>());
  }
  return out;
}

std::vector<Example> parse_shots(const json& j, const Where& w) {
  if (j.is_null()) return {};
  if (!j.is_array()) fail(w, "field 'examples' must be a list (got " + type_of(j) + ")");
  std::vector<Example> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string field = "examples[" + std::to_string(i) + "]";
    const json& e = j[i];
    if (!e.is_object()) fail(w, "field '" + field + "' must be an object (got " + type_of(e) + ")");
    Example ex;
    auto text = e.find("text");
    if (text == e.end() || !text->is_string()) fail(w, "field '" + field + ".text' must be a string");
    ex.text = text->get<std::string>();
    // The reference reads "labels", else "true_labels".
    auto labels = e.find("labels");
    if (labels == e.end()) labels = e.find("true_labels");
    if (labels != e.end()) ex.labels = string_list(*labels, field + ".labels", w);
    out.push_back(std::move(ex));
  }
  return out;
}

TrainExample parse_example(const json& obj, const Where& w) {
  if (!obj.is_object()) fail(w, "expected a JSON object (got " + type_of(obj) + ")");
  TrainExample ex;
  ex.line = w.number;
  ex.text = read_string(obj, "text", w, true);
  auto all = obj.find("all_labels");
  if (all == obj.end()) fail(w, "missing field 'all_labels'");
  std::set<std::string> seen;
  for (auto& l : string_list(*all, "all_labels", w))
    if (seen.insert(l).second) ex.all_labels.push_back(std::move(l));
  if (ex.all_labels.empty()) fail(w, "field 'all_labels' is empty (expected at least one label)");

  auto truth = obj.find("true_labels");
  if (truth == obj.end()) fail(w, "missing field 'true_labels'");
  if (truth->is_object()) {
    for (const auto& [label, score] : truth->items()) {
      if (!score.is_number())
        fail(w, "field 'true_labels' score of '" + label + "' must be a number (got " + type_of(score) + ")");
      const double s = score.get<double>();
      if (!(s >= 0.0 && s <= 1.0))
        fail(w, "field 'true_labels' score of '" + label + "' must be in [0, 1] (got " + score.dump() + ")");
      ex.true_labels.emplace_back(label, static_cast<float>(s));
    }
  } else if (truth->is_array()) {
    std::set<std::string> dup;
    for (auto& l : string_list(*truth, "true_labels", w))
      if (dup.insert(l).second) ex.true_labels.emplace_back(std::move(l), 1.0f);
  } else {
    fail(w, "field 'true_labels' must be a list of labels or a {label: score} object (got " +
                type_of(*truth) + ")");
  }
  for (const auto& [label, score] : ex.true_labels)
    if (!seen.count(label)) fail(w, "field 'true_labels': '" + label + "' is not in all_labels");

  ex.prompt = read_string(obj, "prompt", w, false);
  auto shots = obj.find("examples");
  if (shots != obj.end()) ex.examples = parse_shots(*shots, w);
  return ex;
}

std::string read_file(const std::filesystem::path& file, const char* what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(std::string(what) + ": cannot open '" + file.string() + "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool is_json_list(const std::string& content) {
  auto pos = content.find_first_not_of(" \t\r\n");
  // A UTF-8 byte order mark may precede it.
  if (pos != std::string::npos && content.compare(pos, 3, "\xEF\xBB\xBF") == 0)
    pos = content.find_first_not_of(" \t\r\n", pos + 3);
  return pos != std::string::npos && content[pos] == '[';
}

// Calls f(object, where) for every record of a JSON list or JSONL text.
template <typename F>
void for_each_record(const std::string& content, const std::string& source, F&& f) {
  if (is_json_list(content)) {
    json list;
    try {
      list = json::parse(content);
    } catch (const json::parse_error& e) {
      throw InputError("data: " + source + " is not valid JSON (" + e.what() + ")");
    }
    for (size_t i = 0; i < list.size(); ++i) f(list[i], Where{source, "item", i + 1});
    return;
  }
  std::istringstream in(content);
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const Where w{source, "line", number};
    json obj;
    try {
      obj = json::parse(line);
    } catch (const json::parse_error& e) {
      fail(w, std::string("not valid JSON (") + e.what() + ")");
    }
    f(obj, w);
  }
}

}  // namespace

float TrainExample::target(const std::string& label) const {
  for (const auto& [l, s] : true_labels)
    if (l == label) return s;
  return 0.0f;
}

const std::string& TrainExample::top_label() const {
  if (true_labels.empty())
    throw InputError("data: line " + std::to_string(line) +
                     ": field 'true_labels' is empty (single-label training needs one true label)");
  size_t best = 0;
  for (size_t i = 1; i < true_labels.size(); ++i)
    if (true_labels[i].second > true_labels[best].second) best = i;
  return true_labels[best].first;
}

std::vector<TrainExample> parse_examples(const std::string& content, const std::string& source) {
  std::vector<TrainExample> out;
  for_each_record(content, source, [&](const json& obj, const Where& w) { out.push_back(parse_example(obj, w)); });
  if (out.empty()) throw InputError("data: " + source + " holds no examples");
  return out;
}

std::vector<TrainExample> load_examples(const std::filesystem::path& file) {
  return parse_examples(read_file(file, "data"), file.string());
}

LabelDescriptions parse_label_descriptions(const std::string& content, const std::string& source) {
  LabelDescriptions out;
  for_each_record(content, source, [&](const json& obj, const Where& w) {
    if (!obj.is_object()) fail(w, "expected a JSON object (got " + type_of(obj) + ")");
    const std::string label = read_string(obj, "label", w, true);
    LabelInfo& info = out[label];
    for (const char* key : {"descriptions", "synonyms"}) {
      auto it = obj.find(key);
      if (it == obj.end() || it->is_null()) continue;
      auto list = string_list(*it, key, w);
      auto& dst = std::string(key) == "descriptions" ? info.descriptions : info.synonyms;
      dst.insert(dst.end(), list.begin(), list.end());
    }
  });
  return out;
}

LabelDescriptions load_label_descriptions(const std::filesystem::path& file) {
  return parse_label_descriptions(read_file(file, "label descriptions"), file.string());
}

std::vector<std::string> collect_labels(const std::vector<TrainExample>& examples) {
  std::set<std::string> all;
  for (const auto& ex : examples) all.insert(ex.all_labels.begin(), ex.all_labels.end());
  return {all.begin(), all.end()};
}

ClassifyRequest to_request(const TrainExample& example) {
  ClassifyRequest r;
  r.text = example.text;
  r.labels = example.all_labels;
  r.prompt = example.prompt;
  r.examples = example.examples;
  return r;
}

namespace {

std::optional<float> optional_reward(const json& obj, const char* key, const Where& w) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) fail(w, std::string("field '") + key + "' must be a number (got " + type_of(*it) + ")");
  return it->get<float>();
}

std::vector<std::string> optional_list(const json& obj, const char* key, const Where& w) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  return string_list(*it, key, w);
}

}  // namespace

std::vector<RlExample> load_rl_examples(const std::filesystem::path& file) {
  std::vector<RlExample> out;
  for_each_record(read_file(file, "data"), file.string(), [&](const json& obj, const Where& w) {
    RlExample r;
    r.example = parse_example(obj, w);
    r.judged.assign(r.example.all_labels.size(), true);
    r.reward = optional_reward(obj, "reward", w);
    out.push_back(std::move(r));
  });
  return out;
}

std::vector<RlExample> load_feedback(const std::filesystem::path& file) {
  std::vector<RlExample> out;
  for_each_record(read_file(file, "feedback"), file.string(), [&](const json& obj, const Where& w) {
    if (!obj.is_object()) fail(w, "expected a JSON object (got " + type_of(obj) + ")");
    RlExample r;
    TrainExample& ex = r.example;
    ex.line = w.number;
    ex.text = read_string(obj, "text", w, true);
    ex.prompt = read_string(obj, "prompt", w, false);
    const auto accepted = optional_list(obj, "accepted", w);
    const auto rejected = optional_list(obj, "rejected", w);
    const std::set<std::string> yes(accepted.begin(), accepted.end()), no(rejected.begin(), rejected.end());
    for (const auto& l : accepted)
      if (no.count(l)) fail(w, "label '" + l + "' is both accepted and rejected");
    if (yes.empty() && no.empty()) fail(w, "nothing judged: give 'accepted' and/or 'rejected' labels");
    const auto shown = optional_list(obj, "labels", w);
    std::set<std::string> seen;
    for (const auto* list : {&shown, &accepted, &rejected})
      for (const auto& l : *list)
        if (seen.insert(l).second) ex.all_labels.push_back(l);
    for (const auto& l : ex.all_labels) {
      r.judged.push_back(yes.count(l) || no.count(l));
      if (yes.count(l)) ex.true_labels.emplace_back(l, 1.0f);
    }
    r.reward = optional_reward(obj, "score", w);
    out.push_back(std::move(r));
  });
  return out;
}

}  // namespace gliclass::train
