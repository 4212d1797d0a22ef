// Checks on a request before anything runs (decisions.md "Inputs that are errors").
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "gliclass/classifier.h"

namespace gliclass::pipeline {

bool is_valid_utf8(std::string_view s);

// InputError naming the field when the request cannot be classified or is
// larger than the options' limits (max_labels, max_text_bytes).
void validate_request(const ClassifyRequest& request, const ClassifierOptions& limits);

// The labels without repeats (first occurrence kept), and a warning per repeat.
std::vector<std::string> dedupe_labels(const std::vector<std::string>& labels,
                                       std::vector<std::string>& warnings);

}  // namespace gliclass::pipeline
