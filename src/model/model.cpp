// architecture_type -> model, and loading a model directory.
#include "model/model.h"

#include "gliclass/error.h"
#include "io/checkpoint.h"
#include "model/bi_encoder.h"
#include "model/decoder_kv.h"
#include "model/encoder_decoder.h"
#include "model/uni_encoder.h"

namespace gliclass::model {
namespace {

using Builder = ModelPtr (*)(const io::GLiClassConfig&, const io::TensorFile*);

struct Architecture {
  const char* name;
  Builder build;
};

ModelPtr build_uni_encoder(const io::GLiClassConfig& config, const io::TensorFile* shapes) {
  return make_uni_encoder(config, shapes);
}

ModelPtr build_bi_encoder(const io::GLiClassConfig& config, const io::TensorFile* shapes) {
  return make_bi_encoder(config, shapes);
}

ModelPtr build_decoder_kv(const io::GLiClassConfig& config, const io::TensorFile*) {
  return make_decoder_kv(config);
}

ModelPtr build_encoder_decoder(const io::GLiClassConfig& config, const io::TensorFile* shapes) {
  return make_encoder_decoder(config, shapes, /*labels_in_encoder=*/false);
}

ModelPtr build_encoder_decoder_cls(const io::GLiClassConfig& config, const io::TensorFile* shapes) {
  return make_encoder_decoder(config, shapes, /*labels_in_encoder=*/true);
}

const Architecture kArchitectures[] = {
    {"uni-encoder", build_uni_encoder},
    {"encoder-decoder", build_encoder_decoder},
    {"encoder-decoder-cls", build_encoder_decoder_cls},
    {"bi-encoder", build_bi_encoder},
    {"bi-encoder-fused", build_bi_encoder},
    {"decoder-kv", build_decoder_kv},
};

}  // namespace

const std::vector<std::string>& model_architectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& a : kArchitectures) out.emplace_back(a.name);
    return out;
  }();
  return names;
}

ModelPtr make_model(const io::GLiClassConfig& config, const io::TensorFile* shapes) {
  for (const auto& a : kArchitectures)
    if (config.architecture_type == a.name) return a.build(config, shapes);
  std::string known;
  for (const auto& n : model_architectures()) known += (known.empty() ? "" : ", ") + n;
  throw ModelError("model: unknown architecture_type (expected one of " + known + ", got \"" +
                   config.architecture_type + "\")");
}

ModelPtr make_model(const io::GLiClassConfig& config) { return make_model(config, nullptr); }

ModelPtr load_model(const std::filesystem::path& model_dir, const io::GLiClassConfig& config) {
  auto file = io::open_checkpoint(model_dir);
  auto model = make_model(config, file.get());
  io::LoadOptions options;
  options.prefix = "model.";
  // GLiClassPreTrainedModel._keys_to_ignore_on_load_unexpected, and T5's
  // token embeddings where a file stores the tied copies of `shared` too.
  options.ignore_unused = {"position_embeddings", "encoder_decoder_model.encoder.embed_tokens",
                           "encoder_decoder_model.decoder.embed_tokens"};
  {
    torch::NoGradGuard no_grad;
    io::load_weights(*model, *file, options);
  }
  model->eval();
  return model;
}

}  // namespace gliclass::model
