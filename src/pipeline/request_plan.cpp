#include "pipeline/request_plan.h"

#include <algorithm>

#include "pipeline/postprocess.h"

namespace gliclass::pipeline {

std::vector<ClassifyResult> make_results(std::vector<RequestPlan>& plans, const std::vector<ClassifyRequest>& requests,
                                         const ClassifyOptions& options) {
  std::vector<ClassifyResult> results;
  results.reserve(plans.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    const auto& req = requests[i];
    RequestPlan& plan = plans[i];
    ClassifyResult res = make_result(std::move(plan.labels), plan.window_logits, req.type.value_or(options.type),
                                     req.threshold ? req.threshold : options.threshold, options.chunking.combine);
    res.truncated = plan.truncated;
    res.label_groups = std::max<size_t>(1, plan.groups.size());
    res.warnings = std::move(plan.warnings);
    results.push_back(std::move(res));
  }
  return results;
}

}  // namespace gliclass::pipeline
