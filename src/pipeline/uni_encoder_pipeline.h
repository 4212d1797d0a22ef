// Requests -> forward passes -> results for uni-encoder models: text windows
// x label groups, truncation, length-sorted padded batches, post-processing.
#pragma once
#include <map>
#include <memory>
#include <vector>

#include "pipeline/pipeline.h"
#include "pipeline/request_plan.h"

namespace gliclass::pipeline {

class UniEncoderPipeline : public Pipeline {
 public:
  explicit UniEncoderPipeline(PipelineParts parts);

  std::vector<ClassifyResult> run(const std::vector<ClassifyRequest>& requests,
                                  const ClassifyOptions& options) const override;

 private:
  struct Row;
  // Fills the logits of one batch of rows in one padded forward pass.
  void forward(std::vector<Row*>& batch) const;
  // Runs rows in length-sorted batches under the token budget and stores
  // their logits in their plans.
  void run_rows(std::vector<Row>& rows, std::vector<RequestPlan>& plans) const;

  std::shared_ptr<const tokenize::Tokenizer> tokenizer_;
  model::ModelPtr model_;
  io::GLiClassConfig config_;
  ClassifierOptions options_;
  std::map<std::string, int> adapters_;
  int64_t pad_id_ = 0;
};

}  // namespace gliclass::pipeline
