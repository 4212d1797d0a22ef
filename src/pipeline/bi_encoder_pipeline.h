// Requests -> forward passes -> results for bi-encoder and bi-encoder-fused
// models (reference BiEncoderZeroShotClassificationPipeline): each distinct
// label is encoded once (label_cache.h) with the label tokenizer, then texts
// run in length-sorted batches against their labels' vectors.
#pragma once
#include <memory>
#include <vector>

#include "model/bi_encoder.h"
#include "pipeline/label_cache.h"
#include "pipeline/pipeline.h"

namespace gliclass::pipeline {

// The label encoder's tokenizer of a bi-encoder model directory: the
// directory label_model_name names inside it (as the golden and saved
// checkpoints ship it), else label_model_name as a directory or Hub id.
std::shared_ptr<const tokenize::Tokenizer> load_label_tokenizer(const std::filesystem::path& model_dir,
                                                                const io::GLiClassConfig& config);

class BiEncoderPipeline : public Pipeline {
 public:
  explicit BiEncoderPipeline(PipelineParts parts);

  std::vector<ClassifyResult> run(const std::vector<ClassifyRequest>& requests,
                                  const ClassifyOptions& options) const override;

  const LabelCache& label_cache() const { return *cache_; }

 private:
  struct Row;
  // Vectors of `labels` under adapter `adapter`, from the cache or encoded
  // now in length-sorted batches (and cached).
  std::vector<torch::Tensor> label_vectors(const std::vector<std::string>& labels, int adapter) const;
  void forward(std::vector<Row*>& batch) const;

  std::shared_ptr<const tokenize::Tokenizer> tokenizer_;
  std::shared_ptr<const tokenize::Tokenizer> label_tokenizer_;
  std::shared_ptr<model::BiEncoderImpl> model_;
  io::GLiClassConfig config_;
  ClassifierOptions options_;
  std::map<std::string, int> adapters_;
  std::unique_ptr<LabelCache> cache_;
  int64_t pad_id_ = 0;
  int64_t label_pad_id_ = 0;
};

}  // namespace gliclass::pipeline
