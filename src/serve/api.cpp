#include "serve/api.h"

#include <algorithm>

#include "pipeline/validate.h"
#include "serve/http_error.h"

namespace gliclass::serve {
namespace {

constexpr int kMaxJsonDepth = 32;

const ojson& required(const ojson& object, const std::string& key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) throw FormatError("missing field '" + key + "'");
  return *it;
}

void check_bytes(const std::string& s, const std::string& what, size_t limit) {
  if (s.size() > limit)
    throw HttpError(413, what + " is " + std::to_string(s.size()) + " bytes, more than the limit of " +
                             std::to_string(limit));
}

// Limits first (413), then the classifier's own checks (422).
void check_request(const ClassifyRequest& r, const std::string& where, const Limits& limits,
                   const Classifier& classifier) {
  check_bytes(r.text, where + " text", limits.max_text_bytes);
  if (r.labels.size() > limits.max_labels)
    throw HttpError(413, where + " has " + std::to_string(r.labels.size()) + " labels, more than the limit of " +
                             std::to_string(limits.max_labels));
  try {
    classifier.validate(r);
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
}

size_t bytes_of(const std::vector<std::string>& labels) {
  size_t n = 0;
  for (const auto& l : labels) n += l.size();
  return n;
}

void check_shared_parts(const std::string& prompt, const std::vector<Example>& examples, const Limits& limits) {
  check_bytes(prompt, "the prompt", limits.max_text_bytes);
  size_t bytes = 0;
  for (const auto& ex : examples) bytes += ex.text.size() + bytes_of(ex.labels);
  if (bytes > limits.max_text_bytes)
    throw HttpError(413, "the examples are " + std::to_string(bytes) + " bytes, more than the limit of " +
                             std::to_string(limits.max_text_bytes));
}

void check_rac_examples(const std::vector<RacExample>& examples, const std::string& where, const Limits& limits) {
  size_t bytes = 0;
  for (const auto& ex : examples) bytes += ex.text.size() + bytes_of(ex.true_labels) + bytes_of(ex.all_labels);
  if (bytes > limits.max_text_bytes)
    throw HttpError(413, where + " are " + std::to_string(bytes) + " bytes, more than the limit of " +
                             std::to_string(limits.max_text_bytes));
}

// "rac_examples": one list for every text, or one list per text.
std::vector<std::vector<RacExample>> rac_examples_of(const ojson& j, size_t texts, const Limits& limits) {
  auto it = j.find("rac_examples");
  if (it == j.end() || it->is_null()) return {{}};
  std::vector<std::vector<RacExample>> out;
  if (it->is_array() && !it->empty() && it->front().is_array()) {
    if (it->size() != texts)
      throw FormatError("field 'rac_examples' holds " + std::to_string(it->size()) + " example lists for " +
                        std::to_string(texts) + " texts");
    for (size_t i = 0; i < texts; ++i)
      out.push_back(rac_examples_from_json((*it)[i], "rac_examples[" + std::to_string(i) + "]"));
  } else {
    out.push_back(rac_examples_from_json(*it, "rac_examples"));
  }
  for (size_t i = 0; i < out.size(); ++i)
    check_rac_examples(out[i], out.size() == 1 ? "the rac examples" : "rac_examples[" + std::to_string(i) + "]",
                       limits);
  return out;
}

// "adapter_id": one of the adapters the server was started with (404 otherwise).
std::string adapter_id_of(const ojson& j, const Classifier& classifier) {
  const std::string id = optional_string(j, "adapter_id").value_or("");
  if (id.empty() || id == kBaseAdapterId) return id;
  const auto known = classifier.adapter_ids();
  if (std::find(known.begin(), known.end(), id) == known.end())
    throw HttpError(404, "unknown LoRA adapter id: " + id);
  return id;
}

std::optional<ClassificationType> type_from(std::optional<bool> multi_label) {
  if (!multi_label) return std::nullopt;
  return *multi_label ? ClassificationType::kMultiLabel : ClassificationType::kSingleLabel;
}

}  // namespace

ojson parse_json_body(const std::string& body) {
  if (!pipeline::is_valid_utf8(body)) throw FormatError("the request body is not valid UTF-8");
  // Deep nesting is refused while parsing: label trees are walked recursively.
  ojson::parser_callback_t depth_guard = [](int depth, ojson::parse_event_t, ojson&) {
    if (depth > kMaxJsonDepth)
      throw FormatError("the request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return true;
  };
  try {
    return ojson::parse(body, depth_guard);
  } catch (const ojson::exception& e) {  // parse_error, or out_of_range for a number past double
    throw FormatError(std::string("the request body is not valid JSON: ") + e.what());
  }
}

ParsedCall parse_classify_body(const std::string& body, const Limits& limits, const Classifier& classifier) {
  const ojson j = parse_json_body(body);
  if (!j.is_object()) throw FormatError("the request body must be a JSON object");

  const ojson& texts = required(j, "texts");
  if (!texts.is_array()) throw FormatError("field 'texts' must be a list of strings");
  if (texts.size() > limits.max_texts)
    throw HttpError(413, std::to_string(texts.size()) + " texts, more than the limit of " +
                             std::to_string(limits.max_texts) + " per request");
  if (texts.empty()) throw InputError("field 'texts' is empty");
  const size_t n = texts.size();

  // Shared labels (a list of strings or a tree), or one label list per text.
  const ojson& labels = required(j, "labels");
  std::vector<std::vector<std::string>> per_text;
  if (labels.is_array() && !labels.empty() && !labels[0].is_string()) {
    if (labels.size() != n)
      throw FormatError("field 'labels' holds " + std::to_string(labels.size()) + " label lists for " +
                        std::to_string(n) + " texts");
    for (size_t i = 0; i < n; ++i)
      per_text.push_back(labels_from_json(labels[i], "labels[" + std::to_string(i) + "]"));
  } else {
    per_text.assign(1, labels_from_json(labels, "labels"));
  }

  // One threshold for all texts, or one per text.
  std::vector<std::optional<float>> thresholds(n);
  if (auto it = j.find("threshold"); it != j.end() && it->is_array()) {
    if (it->size() != n)
      throw FormatError("field 'threshold' holds " + std::to_string(it->size()) + " numbers for " +
                        std::to_string(n) + " texts");
    for (size_t i = 0; i < n; ++i) {
      if (!(*it)[i].is_number()) throw FormatError("field 'threshold' must hold numbers");
      thresholds[i] = (*it)[i].get<float>();
    }
  } else {
    thresholds.assign(n, optional_number(j, "threshold"));
  }

  const auto type = type_from(optional_bool(j, "multi_label"));
  const std::string prompt = optional_string(j, "prompt").value_or("");
  std::vector<Example> examples;
  if (j.contains("examples") && !j["examples"].is_null()) examples = examples_from_json(j["examples"], "examples");
  check_shared_parts(prompt, examples, limits);
  const auto rac = rac_examples_of(j, n, limits);
  const std::string adapter = adapter_id_of(j, classifier);

  ParsedCall call;
  call.fields.scores = optional_bool(j, "all_scores").value_or(false);
  call.fields.logits = optional_bool(j, "logits").value_or(false);
  for (size_t i = 0; i < n; ++i) {
    const std::string where = "texts[" + std::to_string(i) + "]";
    if (!texts[i].is_string()) throw FormatError("field '" + where + "' must be a string");
    ClassifyRequest r;
    r.text = texts[i].get<std::string>();
    r.labels = per_text.size() == 1 ? per_text[0] : per_text[i];
    r.prompt = prompt;
    r.examples = examples;
    r.rac_examples = rac.size() == 1 ? rac[0] : rac[i];
    r.adapter_id = adapter;
    r.threshold = thresholds[i];
    r.type = type;
    check_request(r, where, limits, classifier);
    call.requests.push_back(std::move(r));
  }
  return call;
}

ojson classify_response(const std::vector<ClassifyResult>& results, const ResultFields& fields) {
  ojson list = ojson::array();
  for (const auto& r : results) list.push_back(result_to_json(r, fields));
  return ojson{{"results", std::move(list)}};
}

// The reference reads `payload.get("text") or payload.get("texts")` and keeps
// the first item of a list; a list prompt is treated the same way.
ParsedCall parse_gliclass_body(const std::string& body, const Limits& limits, const Classifier& classifier) {
  const ojson j = parse_json_body(body);
  if (!j.is_object()) throw FormatError("the request body must be a JSON object");

  auto first_string = [&](const std::string& key) -> std::optional<std::string> {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_array()) {
      if (it->empty()) return std::string();
      if ((*it)[0].is_string()) return (*it)[0].get<std::string>();
    }
    throw FormatError("field '" + key + "' must be a string or a list of strings");
  };
  std::optional<std::string> text = first_string("text");
  if (!text || text->empty()) {
    if (auto texts = first_string("texts")) text = texts;
  }
  if (!text) throw FormatError("missing field 'text' (or 'texts')");

  ClassifyRequest r;
  r.text = *text;
  const ojson& labels = required(j, "labels");
  if (labels.is_array() && labels.size() == 1 && labels[0].is_array())
    r.labels = labels_from_json(labels[0], "labels[0]");  // per-text form, one text
  else
    r.labels = labels_from_json(labels, "labels");
  r.threshold = optional_number(j, "threshold");
  r.type = type_from(optional_bool(j, "multi_label"));
  r.prompt = first_string("prompt").value_or("");
  if (j.contains("examples") && !j["examples"].is_null()) r.examples = examples_from_json(j["examples"], "examples");
  r.adapter_id = adapter_id_of(j, classifier);
  check_shared_parts(r.prompt, r.examples, limits);
  r.rac_examples = rac_examples_of(j, 1, limits).front();
  check_request(r, "text", limits, classifier);

  ParsedCall call;
  call.requests.push_back(std::move(r));
  return call;
}

ojson gliclass_response(const ClassifyResult& result) {
  ojson list = ojson::array();
  for (const auto& p : result.predictions) list.push_back({{"label", p.label}, {"score", p.score}});
  return list;
}

}  // namespace gliclass::serve
