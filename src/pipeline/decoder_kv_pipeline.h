// Requests -> forward passes -> results for decoder-kv models (reference
// DecoderKVZeroShotClassificationPipeline): text windows x label groups,
// "[prompt][examples]text<<SEP>>l1<<LABEL>>...<<SEP>>" without special
// tokens, the context cut to fit, length-sorted padded batches,
// post-processing as for every architecture.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"

namespace gliclass::pipeline {

class DecoderKVPipeline : public Pipeline {
 public:
  explicit DecoderKVPipeline(PipelineParts parts);

  std::vector<ClassifyResult> run(const std::vector<ClassifyRequest>& requests,
                                  const ClassifyOptions& options) const override;

 private:
  struct Row;
  // Fills the logits of `rows` in padded forward passes.
  void run_rows(std::vector<Row>& rows) const;

  std::shared_ptr<const tokenize::Tokenizer> tokenizer_;
  model::ModelPtr model_;
  ClassifierOptions options_;
  std::map<std::string, int> adapters_;
  int64_t pad_id_ = 0;
};

}  // namespace gliclass::pipeline
