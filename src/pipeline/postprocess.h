// From logits to the user's result: sigmoid or softmax over the text's own
// labels, threshold, predictions sorted by score (decisions.md "Output").
// A text scored in several windows has its scores combined per label
// (reference.md §4 "Chunking pipeline").
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "gliclass/classifier.h"

namespace gliclass::pipeline {

inline constexpr float kDefaultThreshold = 0.5f;

// window_logits[w][k]: label k's logit in window w (at least one window).
// One window: scores = sigmoid/softmax of its logits. Several: per label the
// max (or mean) of the windows' scores, single-label ones divided by their
// sum; `logits` = per label the max over windows.
ClassifyResult make_result(std::vector<std::string> labels, const std::vector<std::vector<float>>& window_logits,
                           ClassificationType type, std::optional<float> threshold,
                           WindowCombine combine = WindowCombine::kMax);

}  // namespace gliclass::pipeline
