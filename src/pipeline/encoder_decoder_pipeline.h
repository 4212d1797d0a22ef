// Requests -> forward passes -> results for the encoder-decoder and
// encoder-decoder-cls architectures: per text, its windows (TextChunking) x
// its label groups (encoder_decoder_inputs.h); each pass row holds the text
// side and the label side, batched by length, then post-processed as the
// uni-encoder's.
#pragma once
#include <map>
#include <memory>
#include <vector>

#include "pipeline/pipeline.h"

namespace gliclass::pipeline {

class EncoderDecoderPipeline : public Pipeline {
 public:
  explicit EncoderDecoderPipeline(PipelineParts parts);

  std::vector<ClassifyResult> run(const std::vector<ClassifyRequest>& requests,
                                  const ClassifyOptions& options) const override;

 private:
  struct Row;
  // Fills the logits of one batch of rows in one padded forward pass.
  void forward(const std::vector<Row*>& batch) const;
  // Runs the rows in length-sorted batches under the token budget.
  void run_rows(std::vector<Row>& rows) const;

  std::shared_ptr<const tokenize::Tokenizer> tokenizer_;
  model::ModelPtr model_;
  io::GLiClassConfig config_;
  ClassifierOptions options_;
  std::map<std::string, int> adapters_;
  int64_t pad_id_ = 0;
};

}  // namespace gliclass::pipeline
