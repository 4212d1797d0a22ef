// JSON <-> library types, shared by `gliclass classify` (JSONL) and
// `gliclass serve` (HTTP), so both read the same fields the same way and
// print the same numbers.
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "gliclass/classifier.h"
#include "gliclass/error.h"

namespace gliclass::serve {

using ojson = nlohmann::ordered_json;

// The JSON has the wrong shape or types: a missing field, a number where a
// string belongs. (A server answers 400; the other InputErrors are 422.)
class FormatError : public InputError {
 public:
  using InputError::InputError;
};

// Optional fields of an object: absent or null -> nullopt; another type ->
// FormatError naming `key`.
std::optional<std::string> optional_string(const ojson& object, const std::string& key);
std::optional<bool> optional_bool(const ojson& object, const std::string& key);
std::optional<float> optional_number(const ojson& object, const std::string& key);

// A label list: a list of strings, or a label tree (gliclass/labels.h).
std::vector<std::string> labels_from_json(const ojson& labels, const std::string& field);

// Few-shot examples: [{"text": str, "labels": [str]}].
std::vector<Example> examples_from_json(const ojson& examples, const std::string& field);

// Retrieval-augmented examples: [{"text": str, "true_labels": [str], "all_labels"?: [str]}].
std::vector<RacExample> rac_examples_from_json(const ojson& examples, const std::string& field);

// Which optional parts a result carries.
struct ResultFields {
  bool scores = false;  // every label's probability, "scores": {label: p}
  bool logits = false;  // every label's raw logit, "logits": {label: x}
};

// One text's result: {"predictions": [{"label", "score"}], "scores"?, "logits"?,
// "truncated": bool, "windows": n, "label_groups": n, "warnings"?: [str]}.
ojson result_to_json(const ClassifyResult& result, const ResultFields& fields);

}  // namespace gliclass::serve
