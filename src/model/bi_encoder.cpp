#include "model/bi_encoder.h"

#include "gliclass/error.h"
#include "model/heads.h"
#include "model/uni_encoder.h"

namespace gliclass::model {
namespace {

// Scatters rows [N,D] into the labels_mask == 1 slots of a zero [B,K,D].
torch::Tensor spread_over_mask(const torch::Tensor& rows, const torch::Tensor& labels_mask) {
  auto out = torch::zeros({labels_mask.size(0), labels_mask.size(1), rows.size(-1)}, rows.options());
  out.index_put_({labels_mask.to(torch::kBool)}, rows);
  return out;
}

}  // namespace

BiEncoderImpl::BiEncoderImpl(const io::GLiClassConfig& config, const io::TensorFile* shapes)
    : config_(config),
      fused_(config.architecture_type == "bi-encoder-fused"),
      pooling_(pooling_from_name(config.pooling_strategy)) {
  if (!config.label_model_config.is_object())
    throw ModelError(config.architecture_type + ": config.json has no label_model_config (the label encoder's config)");
  if (fused_) class_token_ = special_tokens(config).class_token;

  auto encoder_config = config.encoder_config;  // resized to config.vocab_size, as the reference does
  if (config.vocab_size > 0) encoder_config["vocab_size"] = config.vocab_size;
  encoder_model = register_module("encoder_model", encoders::make_encoder(encoder_config));
  label_encoder = register_module("label_encoder", encoders::make_encoder(config.label_model_config));
  const int64_t d = encoder_model->hidden_size();
  const int64_t projector_hidden = config.hidden_size > 0 ? config.hidden_size : d;

  text_projector = register_module(
      "text_projector", FeaturesProjector(d, projector_hidden, config.projector_hidden_act, config.dropout));
  classes_projector = register_module(
      "classes_projector", FeaturesProjector(d, projector_hidden, config.projector_hidden_act, config.dropout));
  biencoder_projector = register_module(
      "biencoder_projector",
      BiEncoderProjector(label_encoder->hidden_size(), projector_hidden, d, config.projector_hidden_act));
  scorer = register_module("scorer", make_scorer(config.scorer_type, scorer_sizes(config, d, shapes, kModelPrefix)));
  if (scorer->token_level() || pooling_ == Pooling::kPass)
    throw ModelError(config.architecture_type + ": scorer_type \"" + config.scorer_type + "\" with pooling_strategy \"" +
                     config.pooling_strategy + "\" is not supported (labels are pooled to one vector each)");
  logit_scale = register_parameter("logit_scale", torch::tensor(config.logit_scale_init_value));
  init_heads(*this, config.initializer_range, {"encoder_model", "label_encoder"});
}

torch::Tensor BiEncoderImpl::encode_labels(const torch::Tensor& ids, const torch::Tensor& mask) {
  encoders::EncoderInput in;
  in.input_ids = ids;
  in.attention_mask = mask;
  auto hidden = label_encoder->forward(in).last_hidden_state;
  auto c = classes_projector->forward(biencoder_projector->forward(pool(pooling_, hidden, mask.sum(1))));
  return config_.normalize_features ? l2_normalize(c) : c;
}

torch::Tensor BiEncoderImpl::text_vector(const torch::Tensor& hidden, const torch::Tensor& lengths) {
  auto t = torch::dropout(text_projector->forward(pool(pooling_, hidden, lengths)), config_.dropout, is_training());
  return config_.normalize_features ? l2_normalize(t) : t;
}

ModelOutput BiEncoderImpl::score(const ModelInput& input, const torch::Tensor& label_vectors) {
  const std::string where = config_.architecture_type + ": ";
  if (!input.input_ids.defined() || input.input_ids.dim() != 2)
    throw InputError(where + "input_ids must be [batch, length]");
  if (!input.labels_mask.defined() || input.labels_mask.dim() != 2 ||
      input.labels_mask.size(0) != input.input_ids.size(0))
    throw InputError(where + "labels_mask must be [batch, labels]");
  const auto present = input.labels_mask.sum().item<int64_t>();
  if (label_vectors.size(0) != present)
    throw InputError(where + "expected one label vector per labels_mask slot (" + std::to_string(present) + ", got " +
                     std::to_string(label_vectors.size(0)) + ")");
  auto mask = input.attention_mask.defined() ? input.attention_mask : torch::ones_like(input.input_ids);
  auto lengths = mask.sum(1);
  const auto labels_bool = input.labels_mask.to(torch::kBool);

  encoders::EncoderInput in;
  in.attention_mask = mask;
  in.token_type_ids = input.token_type_ids;
  torch::Tensor classes;
  if (!fused_) {
    in.input_ids = input.input_ids;
    auto hidden = encoder_model->forward(in).last_hidden_state;
    auto text = text_vector(hidden, lengths);
    classes = spread_over_mask(label_vectors, input.labels_mask);
    auto logits = scorer->forward({text, classes, mask, input.labels_mask}) * logit_scale;
    return {logits.masked_fill(~labels_bool, -1e3), text, classes, input.labels_mask};
  }
  // Fused: the k-th <<LABEL>> token of the batch (row-major) takes the k-th label vector.
  const auto label_tokens = (input.input_ids == class_token_) & mask.to(torch::kBool);
  const auto per_row_found = label_tokens.sum(1), per_row_labels = input.labels_mask.sum(1);
  for (int64_t b = 0; b < per_row_found.size(0); ++b)
    if (per_row_found[b].item<int64_t>() != per_row_labels[b].item<int64_t>())
      throw InputError(where + "row " + std::to_string(b) + " has " + std::to_string(per_row_found[b].item<int64_t>()) +
                       " <<LABEL>> tokens for " + std::to_string(per_row_labels[b].item<int64_t>()) +
                       " labels (expected one per label)");
  auto embeds = encoder_model->embed_tokens(input.input_ids);
  embeds = embeds.index_put({label_tokens}, label_vectors.to(embeds.dtype()));
  in.inputs_embeds = embeds;
  auto hidden = encoder_model->forward(in).last_hidden_state;
  auto text = text_vector(hidden, lengths);
  classes = spread_over_mask(hidden.index({label_tokens}), input.labels_mask);
  auto logits = scorer->forward({text, classes, mask, input.labels_mask}) * logit_scale;
  return {logits.masked_fill(~labels_bool, -1e3), text, classes, input.labels_mask};
}

ModelOutput BiEncoderImpl::forward(const ModelInput& input) {
  if (!input.class_input_ids.defined() || input.class_input_ids.dim() != 2)
    throw InputError(config_.architecture_type + ": class_input_ids must be [labels, length]");
  auto class_mask =
      input.class_attention_mask.defined() ? input.class_attention_mask : torch::ones_like(input.class_input_ids);
  return score(input, encode_labels(input.class_input_ids, class_mask));
}

std::shared_ptr<BiEncoderImpl> make_bi_encoder(const io::GLiClassConfig& config, const io::TensorFile* shapes) {
  return std::make_shared<BiEncoderImpl>(config, shapes);
}

}  // namespace gliclass::model
