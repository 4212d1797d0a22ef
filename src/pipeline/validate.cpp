#include "pipeline/validate.h"

#include <utf8proc.h>

#include <unordered_set>

#include "gliclass/error.h"

namespace gliclass::pipeline {

bool is_valid_utf8(std::string_view s) {
  auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0 || cp < 0) return false;
    p += n;
    left -= n;
  }
  return true;
}

void validate_request(const ClassifyRequest& r, const ClassifierOptions& limits) {
  const size_t max_labels = limits.max_labels;
  // Size first: nothing is scanned or tokenized past the limit.
  auto check_utf8 = [&](std::string_view s, const std::string& what) {
    if (s.size() > limits.max_text_bytes)
      throw InputError("input: " + what + " is " + std::to_string(s.size()) + " bytes, more than the limit of " +
                       std::to_string(limits.max_text_bytes));
    if (!is_valid_utf8(s)) throw InputError("input: " + what + " is not valid UTF-8");
  };
  check_utf8(r.text, "text");
  check_utf8(r.prompt, "prompt");
  if (r.labels.empty()) throw InputError("input: the label list is empty");
  if (r.labels.size() > max_labels)
    throw InputError("input: " + std::to_string(r.labels.size()) + " labels, more than the limit of " +
                     std::to_string(max_labels));
  for (size_t i = 0; i < r.labels.size(); ++i) {
    check_utf8(r.labels[i], "label " + std::to_string(i));
    if (r.labels[i].empty()) throw InputError("input: label " + std::to_string(i) + " is empty");
  }
  for (size_t i = 0; i < r.examples.size(); ++i) {
    check_utf8(r.examples[i].text, "example " + std::to_string(i) + " text");
    for (const auto& l : r.examples[i].labels) check_utf8(l, "example " + std::to_string(i) + " label");
  }
  for (size_t i = 0; i < r.rac_examples.size(); ++i) {
    const auto& ex = r.rac_examples[i];
    const std::string where = "rac example " + std::to_string(i);
    check_utf8(ex.text, where + " text");
    for (const auto* list : {&ex.true_labels, &ex.all_labels})
      for (const auto& l : *list) check_utf8(l, where + " label");
  }
  if (r.threshold && !(*r.threshold >= 0.0f && *r.threshold <= 1.0f))
    throw InputError("input: threshold must be in [0, 1] (got " + std::to_string(*r.threshold) + ")");
}

std::vector<std::string> dedupe_labels(const std::vector<std::string>& labels,
                                       std::vector<std::string>& warnings) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto& l : labels) {
    if (seen.insert(l).second)
      out.push_back(l);
    else
      warnings.push_back("duplicate label '" + l + "' ignored");
  }
  return out;
}

}  // namespace gliclass::pipeline
