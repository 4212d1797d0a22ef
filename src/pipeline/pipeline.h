// Requests -> forward passes -> results, one implementation per
// architecture_type (each builds its model's inputs as the reference's
// pipeline does); the Classifier holds one and calls run().
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gliclass/classifier.h"
#include "io/config.h"
#include "model/model.h"
#include "tokenize/tokenizer.h"

namespace gliclass::pipeline {

class Pipeline {
 public:
  virtual ~Pipeline() = default;
  // Requests must have passed validate_request.
  virtual std::vector<ClassifyResult> run(const std::vector<ClassifyRequest>& requests,
                                          const ClassifyOptions& options) const = 0;
};

// What a pipeline is built from: a loaded model directory.
struct PipelineParts {
  std::filesystem::path model_dir;  // for files only some architectures read (label_tokenizer/, ...)
  std::shared_ptr<const tokenize::Tokenizer> tokenizer;
  model::ModelPtr model;
  io::GLiClassConfig config;
  ClassifierOptions options;
  std::map<std::string, int> adapters;  // adapter id -> index it was attached under
};

// The pipeline of parts.config.architecture_type; ModelError when there is none.
std::unique_ptr<Pipeline> make_pipeline(PipelineParts parts);

}  // namespace gliclass::pipeline
