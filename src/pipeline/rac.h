// Retrieval-augmented classification (reference.md §1, utils.retrieval_augmented_text):
//   text + " " + join(" ", "<<EXAMPLE>> t <<TRUE_LABEL>> a <<TRUE_LABEL>> b <<FALSE_LABEL>> c <</EXAMPLE>>")
// over the examples that have at least one true label. The markers are plain
// text, not added tokens. False labels are all_labels minus true_labels in
// all_labels order (the reference's set difference has no stable order).
#pragma once
#include <string>
#include <vector>

#include "gliclass/classifier.h"

namespace gliclass::pipeline {

// The examples' part, starting with a space; empty when no example counts.
std::string format_rac_examples(const std::vector<RacExample>& examples);

}  // namespace gliclass::pipeline
