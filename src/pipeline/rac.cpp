#include "pipeline/rac.h"

#include <algorithm>

namespace gliclass::pipeline {
namespace {

// " ".join(marker + " " + label for label in labels)
std::string marked(const std::vector<std::string>& labels, const char* marker) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ' ';
    out += marker;
    out += ' ';
    out += labels[i];
  }
  return out;
}

}  // namespace

std::string format_rac_examples(const std::vector<RacExample>& examples) {
  std::string out;
  for (const auto& ex : examples) {
    if (ex.true_labels.empty()) continue;  // shares no true label with the others
    std::vector<std::string> negatives;
    for (const auto& l : ex.all_labels)
      if (std::find(ex.true_labels.begin(), ex.true_labels.end(), l) == ex.true_labels.end() &&
          std::find(negatives.begin(), negatives.end(), l) == negatives.end())
        negatives.push_back(l);
    out += " <<EXAMPLE>> " + ex.text + " " + marked(ex.true_labels, "<<TRUE_LABEL>>") + " " +
           marked(negatives, "<<FALSE_LABEL>>") + " <</EXAMPLE>>";
  }
  return out;
}

}  // namespace gliclass::pipeline
