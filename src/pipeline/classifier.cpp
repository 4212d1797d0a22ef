// gliclass::Classifier: the public facade over config, tokenizer, model and pipeline.
#include "gliclass/classifier.h"

#include <filesystem>

#include "io/config.h"
#include "model/model.h"
#include "pipeline/prompt.h"
#include "pipeline/uni_encoder_pipeline.h"
#include "pipeline/validate.h"
#include "runtime/linear.h"
#include "runtime/threads.h"
#include "tokenize/tokenizer.h"

namespace gliclass {

struct Classifier::Impl {
  io::GLiClassConfig config;
  ClassifierOptions options;
  std::unique_ptr<pipeline::UniEncoderPipeline> pipeline;
};

namespace {

// The tokenizer must know the GLiClass tokens at the ids the model was trained with.
void check_special_tokens(const tokenize::Tokenizer& tok, const io::GLiClassConfig& c,
                          const std::filesystem::path& dir) {
  const std::pair<const char*, int64_t> expected[] = {
      {pipeline::kLabelToken, c.class_token_index},
      {pipeline::kSepToken, c.text_token_index},
      {pipeline::kExampleToken, c.example_token_index}};
  for (const auto& [token, id] : expected) {
    auto found = tok.token_to_id(token);
    if (!found)
      throw ModelError(std::string("tokenizer: ") + dir.string() + " does not define the token " + token);
    if (*found != id)
      throw ModelError(std::string("tokenizer: token ") + token + " has id " + std::to_string(*found) +
                       " but config.json expects " + std::to_string(id));
  }
}

}  // namespace

DType dtype_from_name(const std::string& name) {
  if (name == "fp32") return DType::kFloat32;
  if (name == "bf16") return DType::kBFloat16;
  throw InputError("options: unknown dtype \"" + name + "\" (expected fp32 or bf16)");
}

std::string dtype_name(DType dtype) { return dtype == DType::kBFloat16 ? "bf16" : "fp32"; }

Classifier::Classifier(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Classifier Classifier::load(const std::string& model_dir, const ClassifierOptions& options) {
  const std::filesystem::path dir(model_dir);
  if (!std::filesystem::is_directory(dir))
    throw ModelError("model: '" + model_dir + "' is not a directory");
  if (options.max_length < 8)
    throw InputError("options: max_length must be at least 8 (got " + std::to_string(options.max_length) + ")");
  if (options.batch_size < 1)
    throw InputError("options: batch_size must be at least 1 (got " + std::to_string(options.batch_size) + ")");
  if (options.max_batch_tokens < 0)
    throw InputError("options: max_batch_tokens must be 0 (no cap) or positive (got " +
                     std::to_string(options.max_batch_tokens) + ")");
  runtime::set_threads(options.threads);

  auto impl = std::make_shared<Impl>();
  impl->options = options;
  impl->config = io::GLiClassConfig::from_file(dir / "config.json");
  std::shared_ptr<const tokenize::Tokenizer> tokenizer = tokenize::Tokenizer::from_dir(dir);
  check_special_tokens(*tokenizer, impl->config, dir);
  auto model = model::load_model(dir, impl->config);
  runtime::set_dtype(*model, options.dtype);
  impl->pipeline =
      std::make_unique<pipeline::UniEncoderPipeline>(tokenizer, std::move(model), impl->config, options);
  return Classifier(std::move(impl));
}

void Classifier::validate(const ClassifyRequest& request) const {
  pipeline::validate_request(request, impl_->options.max_labels);
}

ClassifyResult Classifier::classify(const ClassifyRequest& request, const ClassifyOptions& options) const {
  return classify(std::vector<ClassifyRequest>{request}, options).front();
}

std::vector<ClassifyResult> Classifier::classify(const std::vector<ClassifyRequest>& requests,
                                                 const ClassifyOptions& options) const {
  if (options.threshold && !(*options.threshold >= 0.0f && *options.threshold <= 1.0f))
    throw InputError("options: threshold must be in [0, 1] (got " + std::to_string(*options.threshold) + ")");
  for (size_t i = 0; i < requests.size(); ++i) {
    try {
      validate(requests[i]);
    } catch (const InputError& e) {
      throw InputError("request " + std::to_string(i) + ": " + e.what());
    }
  }
  return impl_->pipeline->run(requests, options);
}

const ClassifierOptions& Classifier::options() const { return impl_->options; }
std::string Classifier::architecture() const { return impl_->config.architecture_type; }
std::string Classifier::backbone() const { return impl_->config.encoder_model_type(); }

}  // namespace gliclass
