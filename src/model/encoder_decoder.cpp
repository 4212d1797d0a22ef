#include "model/encoder_decoder.h"

#include <string>

#include "gliclass/error.h"
#include "model/heads.h"
#include "model/uni_encoder.h"

namespace gliclass::model {
namespace {

// torch.nn.functional.normalize(x, p=2, dim=-1, eps=1e-8): x / max(||x||_2, eps).
torch::Tensor normalize(const torch::Tensor& x) {
  return x / x.norm(2, -1, /*keepdim=*/true).clamp_min(1e-8);
}

std::string shape_of(const torch::Tensor& t) { return t.defined() ? c10::str(t.sizes()) : "none"; }

// Shapes and id ranges of both sequences; InputError names the tensor.
void check_input(const ModelInput& in, const std::string& who, int64_t vocab, int64_t max_classes) {
  auto check_ids = [&](const torch::Tensor& ids, const char* name) {
    if (!ids.defined() || ids.dim() != 2 || ids.size(1) == 0)
      throw InputError(who + ": " + name + " must be [batch, length >= 1] (got " + shape_of(ids) + ")");
    if (ids.size(0) != in.input_ids.size(0))
      throw InputError(who + ": " + name + " must have one row per text (expected " +
                       std::to_string(in.input_ids.size(0)) + " rows, got " + std::to_string(ids.size(0)) + ")");
    auto bad = ids.lt(0) | ids.ge(vocab);
    if (bad.any().item<bool>())
      throw InputError(who + ": " + name + " value out of range (expected 0.." + std::to_string(vocab - 1) +
                       ", got " + std::to_string(ids.masked_select(bad)[0].item<int64_t>()) + ")");
  };
  auto check_mask = [&](const torch::Tensor& mask, const torch::Tensor& ids, const char* name) {
    if (mask.defined() && mask.sizes() != ids.sizes())
      throw InputError(who + ": " + name + " must be " + shape_of(ids) + " (got " + shape_of(mask) + ")");
  };
  check_ids(in.input_ids, "input_ids");
  check_ids(in.class_input_ids, "class_input_ids");
  check_mask(in.attention_mask, in.input_ids, "attention_mask");
  check_mask(in.class_attention_mask, in.class_input_ids, "class_attention_mask");
  if (in.num_classes < 1 || in.num_classes > max_classes)
    throw InputError(who + ": num_classes must be 1.." + std::to_string(max_classes) +
                     " (config max_num_classes; got " + std::to_string(in.num_classes) + ")");
}

}  // namespace

EncoderDecoderImpl::EncoderDecoderImpl(const io::GLiClassConfig& config, const io::TensorFile* shapes,
                                       bool labels_in_encoder)
    : config_(config), labels_in_encoder_(labels_in_encoder), pooling_(pooling_from_name(config.pooling_strategy)) {
  const std::string who = config.architecture_type;
  const SpecialTokens tokens = special_tokens(config);
  class_options_ = {tokens.class_token, tokens.text_token, config.class_token_pooling == "average",
                    config.embed_class_token, config.extract_text_features};

  // The reference resizes the shared embedding to config.vocab_size.
  auto backbone = config.encoder_config;
  if (config.vocab_size > 0) backbone["vocab_size"] = config.vocab_size;
  encoder_decoder_model = register_module("encoder_decoder_model",
                                          encoders::T5Model(encoders::T5Config::from_json(backbone)));
  const int64_t d = encoder_decoder_model->config().d_model;

  const int64_t projector_hidden = config.hidden_size > 0 ? config.hidden_size : d;
  text_projector = register_module(
      "text_projector", FeaturesProjector(d, projector_hidden, config.projector_hidden_act, config.dropout));
  classes_projector = register_module(
      "classes_projector", FeaturesProjector(d, projector_hidden, config.projector_hidden_act, config.dropout));
  scorer = register_module("scorer", make_scorer(config.scorer_type, scorer_sizes(config, d, shapes, kModelPrefix)));
  // encoder-decoder pools the encoder's tokens; -cls always has one text vector.
  const bool token_level_text = !labels_in_encoder && pooling_ == Pooling::kPass;
  if (scorer->token_level() != token_level_text)
    throw ModelError(who + ": scorer_type \"" + config.scorer_type + "\" does not fit pooling_strategy \"" +
                     config.pooling_strategy + "\" (" +
                     (labels_in_encoder ? "this architecture has one text vector, so token-level scorers cannot run"
                                        : "expected \"pass\" pooling exactly for token-level scorers") +
                     ")");
  logit_scale = register_parameter("logit_scale", torch::tensor(config.logit_scale_init_value));
  if (config.use_lstm) {
    const int64_t width = dim_of(shapes, std::string(kModelPrefix) + "lstm.lstm.weight_hh_l0", 1, d / 2);
    lstm = register_module("lstm", LstmSeq2SeqEncoder(d, width));
  }
  if (config.squeeze_layers) {
    // Sized by the encoder_config's num_hidden_layers (T5: num_layers), as the reference.
    const int64_t k = encoder_decoder_model->config().num_layers;
    layer_wise_attention = register_module("layer_wise_attention", LayerwiseAttention(k, d));
  }
  init_heads(*this, config.initializer_range, {"encoder_decoder_model"});
}

// Text -> encoder; "<<LABEL>>..<<SEP>>prompt" -> decoder, every label token
// seeing every other (GLiClassEncoderDecoder._make_bidirectional_4d_mask).
EncoderDecoderImpl::Sides EncoderDecoderImpl::run_labels_in_decoder(const ModelInput& in) {
  auto& t5 = *encoder_decoder_model;
  const auto dtype = t5.shared->weight.scalar_type();
  auto text_bias = encoders::t5_padding_bias(in.attention_mask, dtype);
  auto text_states = t5.encoder->forward(in.input_ids, text_bias);
  auto label_states = t5.decoder->forward(in.class_input_ids, encoders::t5_padding_bias(in.class_attention_mask, dtype),
                                          text_states, text_bias);
  // Alone, the reference pools (and runs the LSTM over) exactly the row's tokens.
  auto lengths = in.attention_mask.sum(1);
  torch::Tensor text = text_states, text_mask = in.attention_mask;
  if (config_.use_lstm) {
    text = lstm->forward(text, lengths);
    text_mask = (torch::arange(text.size(1), lengths.options()).unsqueeze(0) < lengths.unsqueeze(1)).to(torch::kLong);
  }
  return {label_states, pool(pooling_, text, lengths), text_mask};
}

// Labels -> encoder; text -> causal decoder, read at its last real token.
EncoderDecoderImpl::Sides EncoderDecoderImpl::run_labels_in_encoder(const ModelInput& in) {
  auto& t5 = *encoder_decoder_model;
  const auto dtype = t5.shared->weight.scalar_type();
  auto label_bias = encoders::t5_padding_bias(in.class_attention_mask, dtype);
  auto label_states = t5.encoder->forward(in.class_input_ids, label_bias);
  auto text_states = t5.decoder->forward(in.input_ids, encoders::t5_causal_bias(in.attention_mask, dtype),
                                         label_states, label_bias);
  auto last = (in.attention_mask.sum(1) - 1).clamp_min(0);
  auto rows = torch::arange(text_states.size(0), last.options());
  return {label_states, text_states.index({rows, last}), in.attention_mask};
}

ModelOutput EncoderDecoderImpl::forward(const ModelInput& input) {
  const std::string who = config_.architecture_type;
  check_input(input, who, encoder_decoder_model->config().vocab_size, config_.max_num_classes);
  ModelInput in = input;
  if (!in.attention_mask.defined()) in.attention_mask = torch::ones_like(in.input_ids);
  if (!in.class_attention_mask.defined()) in.class_attention_mask = torch::ones_like(in.class_input_ids);

  const Sides sides = labels_in_encoder_ ? run_labels_in_encoder(in) : run_labels_in_decoder(in);
  auto classes = extract_class_features(sides.label_states, in.class_input_ids, in.class_attention_mask,
                                        config_.max_num_classes, class_options_);

  auto text_vec = torch::dropout(text_projector->forward(sides.text_vector), config_.dropout, is_training());
  auto class_vecs = classes_projector->forward(classes.embeddings);
  if (config_.normalize_features) {
    text_vec = normalize(text_vec);
    class_vecs = normalize(class_vecs);
  }
  // No classes mask: the reference scores all max_num_classes slots together.
  auto logits = scorer->forward({text_vec, class_vecs, sides.text_mask, torch::Tensor()});
  if (config_.normalize_features) logits = logits * logit_scale;  // a plain multiplier
  const int64_t k = in.num_classes;
  return {logits.slice(1, 0, k), text_vec, class_vecs.slice(1, 0, k), classes.mask.slice(1, 0, k)};
}

std::shared_ptr<EncoderDecoderImpl> make_encoder_decoder(const io::GLiClassConfig& config,
                                                         const io::TensorFile* shapes, bool labels_in_encoder) {
  return std::make_shared<EncoderDecoderImpl>(config, shapes, labels_in_encoder);
}

}  // namespace gliclass::model
