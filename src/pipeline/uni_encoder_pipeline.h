// Requests -> forward passes -> results for uni-encoder models: label groups,
// truncation, length-sorted padded batches, post-processing.
#pragma once
#include <memory>
#include <vector>

#include "gliclass/classifier.h"
#include "io/config.h"
#include "model/model.h"
#include "tokenize/tokenizer.h"

namespace gliclass::pipeline {

class UniEncoderPipeline {
 public:
  UniEncoderPipeline(std::shared_ptr<const tokenize::Tokenizer> tokenizer, model::ModelPtr model,
                     io::GLiClassConfig config, ClassifierOptions options);

  // Requests must have passed validate_request.
  std::vector<ClassifyResult> run(const std::vector<ClassifyRequest>& requests,
                                  const ClassifyOptions& options) const;

 private:
  struct Row;
  // Fills the logits of one batch of rows in one padded forward pass.
  void forward(std::vector<Row*>& batch) const;

  std::shared_ptr<const tokenize::Tokenizer> tokenizer_;
  model::ModelPtr model_;
  io::GLiClassConfig config_;
  ClassifierOptions options_;
  int64_t pad_id_ = 0;
};

}  // namespace gliclass::pipeline
