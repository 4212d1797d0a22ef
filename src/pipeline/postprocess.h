// From logits to the user's result: sigmoid or softmax over the text's own
// labels, threshold, predictions sorted by score (decisions.md "Output").
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "gliclass/classifier.h"

namespace gliclass::pipeline {

inline constexpr float kDefaultThreshold = 0.5f;

ClassifyResult make_result(std::vector<std::string> labels, std::vector<float> logits,
                           ClassificationType type, std::optional<float> threshold);

}  // namespace gliclass::pipeline
