#include "serve/json_io.h"

#include "gliclass/labels.h"

namespace gliclass::serve {
namespace {

const ojson* field_or_null(const ojson& object, const std::string& key) {
  if (!object.is_object()) throw FormatError("expected a JSON object, got " + std::string(object.type_name()));
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

FormatError wrong_type(const std::string& key, const char* expected, const ojson& got) {
  return FormatError("field '" + key + "' must be " + expected + " (got " + std::string(got.type_name()) + ")");
}

// A list of strings at object[key]; absent or null -> empty.
std::vector<std::string> string_list(const ojson& object, const std::string& key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_array()) throw wrong_type(where + "." + key, "a list of strings", *it);
  std::vector<std::string> out;
  for (const auto& l : *it) {
    if (!l.is_string()) throw FormatError("field '" + where + "." + key + "' must hold strings");
    out.push_back(l.get<std::string>());
  }
  return out;
}

}  // namespace

std::optional<std::string> optional_string(const ojson& object, const std::string& key) {
  const ojson* v = field_or_null(object, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw wrong_type(key, "a string", *v);
  return v->get<std::string>();
}

std::optional<bool> optional_bool(const ojson& object, const std::string& key) {
  const ojson* v = field_or_null(object, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw wrong_type(key, "true or false", *v);
  return v->get<bool>();
}

std::optional<float> optional_number(const ojson& object, const std::string& key) {
  const ojson* v = field_or_null(object, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw wrong_type(key, "a number", *v);
  return v->get<float>();
}

std::vector<std::string> labels_from_json(const ojson& labels, const std::string& field) {
  if (!labels.is_array() && !labels.is_object())
    throw wrong_type(field, "a list of strings or a label tree", labels);
  try {
    return flatten_labels(labels);
  } catch (const InputError& e) {
    // A label tree of the wrong shape is a format problem of the request.
    throw FormatError("field '" + field + "': " + e.what());
  }
}

std::vector<Example> examples_from_json(const ojson& examples, const std::string& field) {
  if (!examples.is_array()) throw wrong_type(field, "a list of {\"text\", \"labels\"} objects", examples);
  std::vector<Example> out;
  for (size_t i = 0; i < examples.size(); ++i) {
    const ojson& ex = examples[i];
    const std::string where = field + "[" + std::to_string(i) + "]";
    if (!ex.is_object() || !ex.contains("text") || !ex["text"].is_string() || !ex.contains("labels") ||
        !ex["labels"].is_array())
      throw FormatError("field '" + where + "' needs a string 'text' and a list 'labels'");
    out.push_back({ex["text"].get<std::string>(), string_list(ex, "labels", where)});
  }
  return out;
}

std::vector<RacExample> rac_examples_from_json(const ojson& examples, const std::string& field) {
  const char* shape = "a list of {\"text\", \"true_labels\", \"all_labels\"} objects";
  if (!examples.is_array()) throw wrong_type(field, shape, examples);
  std::vector<RacExample> out;
  for (size_t i = 0; i < examples.size(); ++i) {
    const ojson& ex = examples[i];
    const std::string where = field + "[" + std::to_string(i) + "]";
    if (!ex.is_object() || !ex.contains("text") || !ex["text"].is_string())
      throw FormatError("field '" + where + "' needs a string 'text' (and lists 'true_labels', 'all_labels')");
    out.push_back({ex["text"].get<std::string>(), string_list(ex, "true_labels", where),
                   string_list(ex, "all_labels", where)});
  }
  return out;
}

ojson result_to_json(const ClassifyResult& r, const ResultFields& fields) {
  ojson out = ojson::object();
  out["predictions"] = ojson::array();
  for (const auto& p : r.predictions) out["predictions"].push_back({{"label", p.label}, {"score", p.score}});
  if (fields.scores) {
    out["scores"] = ojson::object();
    for (size_t i = 0; i < r.labels.size(); ++i) out["scores"][r.labels[i]] = r.scores[i];
  }
  if (fields.logits) {
    out["logits"] = ojson::object();
    for (size_t i = 0; i < r.labels.size(); ++i) out["logits"][r.labels[i]] = r.logits[i];
  }
  out["truncated"] = r.truncated;
  out["windows"] = r.windows;
  out["label_groups"] = r.label_groups;
  if (!r.warnings.empty()) out["warnings"] = r.warnings;
  return out;
}

}  // namespace gliclass::serve
