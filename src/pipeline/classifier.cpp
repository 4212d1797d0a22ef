// gliclass::Classifier: the public facade over config, tokenizer, model and pipeline.
#include "gliclass/classifier.h"

#include <filesystem>

#include "io/config.h"
#include "io/hub.h"
#include "io/peft_adapter.h"
#include "model/adapters.h"
#include "model/model.h"
#include "pipeline/prompt.h"
#include "pipeline/pipeline.h"
#include "pipeline/validate.h"
#include "pipeline/windows.h"
#include "runtime/allocator.h"
#include "runtime/linear.h"
#include "runtime/threads.h"
#include "tokenize/tokenizer.h"

namespace gliclass {

struct Classifier::Impl {
  io::GLiClassConfig config;
  ClassifierOptions options;
  std::unique_ptr<pipeline::Pipeline> pipeline;
};

namespace {

constexpr const char* kBaseAdapter = "__base__";  // the reference's name for no adapter

}  // namespace

DType dtype_from_name(const std::string& name) {
  if (name == "fp32") return DType::kFloat32;
  if (name == "bf16") return DType::kBFloat16;
  if (name == "int8") return DType::kInt8;
  throw InputError("options: unknown dtype \"" + name + "\" (expected fp32, bf16 or int8)");
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kBFloat16: return "bf16";
    case DType::kInt8: return "int8";
    default: return "fp32";
  }
}

ChunkUnit chunk_unit_from_name(const std::string& name) {
  if (name == "chars") return ChunkUnit::kCharacters;
  if (name == "tokens") return ChunkUnit::kTokens;
  throw InputError("options: unknown chunk unit \"" + name + "\" (expected chars or tokens)");
}

WindowCombine window_combine_from_name(const std::string& name) {
  if (name == "max") return WindowCombine::kMax;
  if (name == "mean") return WindowCombine::kMean;
  throw InputError("options: unknown window combination \"" + name + "\" (expected max or mean)");
}

Classifier::Classifier(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Classifier Classifier::load(const std::string& model_or_id, const ClassifierOptions& options) {
  if (options.max_length < 8)
    throw InputError("options: max_length must be at least 8 (got " + std::to_string(options.max_length) + ")");
  if (options.batch_size < 1)
    throw InputError("options: batch_size must be at least 1 (got " + std::to_string(options.batch_size) + ")");
  if (options.max_batch_tokens < 0)
    throw InputError("options: max_batch_tokens must be 0 (no cap) or positive (got " +
                     std::to_string(options.max_batch_tokens) + ")");
  const std::filesystem::path dir = io::resolve_model_dir(model_or_id);
  runtime::set_threads(options.threads);
  runtime::keep_freed_memory();  // batched forwards without page-fault churn (runtime/allocator.h)

  auto impl = std::make_shared<Impl>();
  impl->options = options;
  impl->config = io::GLiClassConfig::from_file(dir / "config.json");
  std::shared_ptr<const tokenize::Tokenizer> tokenizer = tokenize::Tokenizer::from_dir(dir);
  pipeline::check_special_tokens(*tokenizer, impl->config, dir);
  auto model = model::load_model(dir, impl->config);
  if (!options.merged_adapter.empty()) model::merge_adapter(*model, io::read_peft_adapter(options.merged_adapter));
  std::map<std::string, int> adapter_index;  // ids 1..n in name order; 0 = the base model
  for (const auto& [id, adapter_dir] : options.adapters) {
    if (id.empty() || id == kBaseAdapter) throw InputError("options: '" + id + "' cannot name an adapter");
    const int index = static_cast<int>(adapter_index.size()) + 1;
    model::attach_adapter(*model, io::read_peft_adapter(adapter_dir), index);
    adapter_index[id] = index;
  }
  runtime::set_dtype(*model, options.dtype);
  impl->pipeline = pipeline::make_pipeline(
      {dir, std::move(tokenizer), std::move(model), impl->config, options, std::move(adapter_index)});
  return Classifier(std::move(impl));
}

void Classifier::validate(const ClassifyRequest& request) const {
  pipeline::validate_request(request, impl_->options);
  const auto& id = request.adapter_id;
  if (!id.empty() && id != kBaseAdapter && !impl_->options.adapters.count(id))
    throw InputError("input: unknown adapter id '" + id + "'");
}

ClassifyResult Classifier::classify(const ClassifyRequest& request, const ClassifyOptions& options) const {
  return classify(std::vector<ClassifyRequest>{request}, options).front();
}

std::vector<ClassifyResult> Classifier::classify(const std::vector<ClassifyRequest>& requests,
                                                 const ClassifyOptions& options) const {
  if (options.threshold && !(*options.threshold >= 0.0f && *options.threshold <= 1.0f))
    throw InputError("options: threshold must be in [0, 1] (got " + std::to_string(*options.threshold) + ")");
  pipeline::window_overlap(options.chunking);  // throws when the overlap is not smaller than the window
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

std::vector<std::string> Classifier::adapter_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, dir] : impl_->options.adapters) ids.push_back(id);
  return ids;
}

}  // namespace gliclass
