// What one request becomes in every pipeline: its deduplicated labels, its
// text windows x label groups (one forward pass each), and the logits the
// passes fill in per window; then its result.
#pragma once
#include <string>
#include <vector>

#include "gliclass/classifier.h"
#include "pipeline/fit.h"
#include "pipeline/prompt.h"

namespace gliclass::pipeline {

struct RequestPlan {
  std::vector<std::string> labels;  // deduplicated
  std::vector<std::string> warnings;
  std::vector<ByteRange> windows;                 // one covering the whole text without chunking
  std::vector<LabelGroup> groups;                 // empty: all labels in one pass
  std::string rac;                                // retrieved examples, appended to every window
  std::vector<std::vector<float>> window_logits;  // [window][label]
  bool truncated = false;
};

// One result per plan (labels and warnings moved out), with each request's
// classification type and threshold over the call's options.
std::vector<ClassifyResult> make_results(std::vector<RequestPlan>& plans, const std::vector<ClassifyRequest>& requests,
                                         const ClassifyOptions& options);

}  // namespace gliclass::pipeline
