#include "model/uni_encoder.h"

#include "gliclass/error.h"
#include "model/heads.h"

namespace gliclass::model {
namespace {

int64_t encoder_vocab(const io::GLiClassConfig& config) {
  if (config.vocab_size > 0) return config.vocab_size;
  auto it = config.encoder_config.find("vocab_size");
  if (it == config.encoder_config.end() || !it->is_number_integer())
    throw ModelError("uni-encoder: cannot resolve special token ids (expected vocab_size in "
                     "config or encoder_config, got none)");
  return it->get<int64_t>();
}

}  // namespace

SpecialTokens special_tokens(const io::GLiClassConfig& config) {
  SpecialTokens t{config.class_token_index, config.text_token_index, config.example_token_index};
  if (t.class_token < 0) t.class_token = encoder_vocab(config);
  if (t.text_token < 0) t.text_token = encoder_vocab(config) + 1;
  if (t.example_token < 0) t.example_token = encoder_vocab(config) + 2;
  return t;
}

UniEncoderImpl::UniEncoderImpl(const io::GLiClassConfig& config, const io::TensorFile* shapes)
    : config_(config),
      tokens_(special_tokens(config)),
      pooling_(pooling_from_name(config.pooling_strategy)) {
  if (config.class_token_pooling != "first" && config.class_token_pooling != "average")
    throw ModelError("uni-encoder: unknown class_token_pooling (expected first or average, got \"" +
                     config.class_token_pooling + "\")");
  class_options_ = {tokens_.class_token, tokens_.text_token,
                    config.class_token_pooling == "average", config.embed_class_token,
                    config.extract_text_features};

  // The reference resizes the backbone's embeddings to config.vocab_size.
  auto encoder_config = config.encoder_config;
  if (config.vocab_size > 0) encoder_config["vocab_size"] = config.vocab_size;
  encoder_model = register_module("encoder_model", encoders::make_encoder(encoder_config));
  const int64_t d = encoder_model->hidden_size();

  const int64_t projector_hidden = config.hidden_size > 0 ? config.hidden_size : d;
  text_projector = register_module(
      "text_projector",
      FeaturesProjector(d, projector_hidden, config.projector_hidden_act, config.dropout));
  classes_projector = register_module(
      "classes_projector",
      FeaturesProjector(d, projector_hidden, config.projector_hidden_act, config.dropout));

  scorer = register_module("scorer",
                           make_scorer(config.scorer_type, scorer_sizes(config, d, shapes, kModelPrefix)));
  if (scorer->token_level() != (pooling_ == Pooling::kPass))
    throw ModelError("uni-encoder: scorer_type \"" + config.scorer_type +
                     "\" does not fit pooling_strategy \"" + config.pooling_strategy +
                     "\" (expected \"pass\" pooling exactly for token-level scorers)");

  logit_scale = register_parameter("logit_scale", torch::tensor(config.logit_scale_init_value));

  if (config.use_lstm) {
    // The reference sizes it hidden_size // 2 per direction.
    const int64_t width = dim_of(shapes, std::string(kModelPrefix) + "lstm.lstm.weight_hh_l0", 1, d / 2);
    lstm = register_module("lstm", LstmSeq2SeqEncoder(d, width));
  }
  if (config.squeeze_layers) {
    // The layer-wise attention mixes every state the encoder returns
    // (embeddings + one per layer); the checkpoint's W1 says how many it expects.
    const int64_t states = encoder_model->num_hidden_layers() + 1;
    const int64_t k = dim_of(shapes, std::string(kModelPrefix) + "layer_wise_attention.W1.weight", 1, states);
    if (k != states)
      throw ModelError("uni-encoder: layer_wise_attention.W1 is sized for " + std::to_string(k) +
                       " hidden states but the encoder returns " + std::to_string(states) +
                       " (expected " + std::to_string(states) + ", got " + std::to_string(k) + ")");
    layer_wise_attention = register_module("layer_wise_attention", LayerwiseAttention(k, d));
  }
  if (config.use_segment_embeddings)
    segment_embeddings = register_module("segment_embeddings", torch::nn::Embedding(3, d));
  init_heads(*this, config.initializer_range, {"encoder_model"});
}

torch::Tensor UniEncoderImpl::encode(const ModelInput& input, const torch::Tensor& lengths) {
  encoders::EncoderInput in;
  in.attention_mask = input.attention_mask;
  in.token_type_ids = input.token_type_ids;
  const bool layer_pick = config_.encoder_layer_id != -1;
  in.output_hidden_states = layer_pick || config_.squeeze_layers;
  if (config_.use_segment_embeddings) {
    auto seg = segment_ids(input.input_ids, input.attention_mask, tokens_.text_token,
                           tokens_.example_token);
    in.inputs_embeds = encoder_model->embed_tokens(input.input_ids) + segment_embeddings->forward(seg);
  } else {
    in.input_ids = input.input_ids;
  }
  // "first" features read a few states of the last layer: the encoder may
  // compute only those.
  if (pooling_ == Pooling::kFirst && !class_options_.average && !config_.use_lstm && !in.output_hidden_states)
    in.read_positions = first_token_positions(input.input_ids, input.attention_mask, class_options_);
  auto out = encoder_model->forward(in);
  if (layer_pick) {
    // Python indexing of hidden_states (embeddings first), negatives from the end.
    const auto n = static_cast<int64_t>(out.hidden_states.size());
    int64_t id = config_.encoder_layer_id;
    if (id < 0) id += n;
    if (id < 0 || id >= n)
      throw ModelError("uni-encoder: encoder_layer_id out of range (expected -" +
                       std::to_string(n) + ".." + std::to_string(n - 1) + ", got " +
                       std::to_string(config_.encoder_layer_id) + ")");
    return out.hidden_states[id];
  }
  if (config_.squeeze_layers) return layer_wise_attention->forward(out.hidden_states, lengths);
  return out.last_hidden_state;
}

ModelOutput UniEncoderImpl::forward(const ModelInput& input) {
  if (!input.input_ids.defined() || input.input_ids.dim() != 2)
    throw InputError("uni-encoder: input_ids must be [batch, length]");
  if (input.num_classes < 1)
    throw InputError("uni-encoder: num_classes must be at least 1 (got " +
                     std::to_string(input.num_classes) + ")");
  ModelInput in = input;
  if (!in.attention_mask.defined()) in.attention_mask = torch::ones_like(in.input_ids);
  auto lengths = in.attention_mask.sum(1);  // [B] real tokens per row

  auto hidden = encode(in, lengths);
  auto classes = extract_class_features(hidden, in.input_ids, in.attention_mask, in.num_classes,
                                        class_options_);

  // Text tokens, their mask, and how many positions the reference pools over
  // for this row alone.
  torch::Tensor text = hidden, text_mask = in.attention_mask, pool_lengths = lengths;
  if (config_.extract_text_features) {
    auto shifted = shift_text_tokens(hidden, in.input_ids, in.attention_mask, tokens_.text_token);
    text = shifted.tokens;
    text_mask = shifted.mask;
    // Without the LSTM the reference pools the zero-filled tail too: the row's
    // full length stays the pooling length.
  }
  if (config_.use_lstm) {
    // Packed BiLSTM over each row's text tokens; alone its output is exactly
    // that long, so the pooling length becomes the text length.
    auto text_lengths = text_mask.sum(1);
    text = lstm->forward(text, text_lengths);
    pool_lengths = text_lengths;
    text_mask = (torch::arange(text.size(1), text_lengths.options()).unsqueeze(0) <
                 text_lengths.unsqueeze(1))
                    .to(torch::kLong);
  }

  auto pooled = pool(pooling_, text, pool_lengths);
  auto text_vec = torch::dropout(text_projector->forward(pooled), config_.dropout, is_training());
  auto class_vecs = classes_projector->forward(classes.embeddings);
  if (config_.normalize_features) {
    text_vec = l2_normalize(text_vec);
    class_vecs = l2_normalize(class_vecs);
  }
  auto logits = scorer->forward({text_vec, class_vecs, text_mask, classes.mask});
  if (config_.normalize_features) logits = logits * logit_scale;  // a plain multiplier
  return {logits, text_vec, class_vecs, classes.mask};
}

std::shared_ptr<UniEncoderImpl> make_uni_encoder(const io::GLiClassConfig& config,
                                                 const io::TensorFile* shapes) {
  return std::make_shared<UniEncoderImpl>(config, shapes);
}

}  // namespace gliclass::model
