// BERT (Devlin et al. 2019) and RoBERTa with the arithmetic of Hugging Face
// transformers 4.49; see bert.h.
#include "encoders/bert.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include "encoders/common.h"
#include "gliclass/error.h"
#include "runtime/row_blocks.h"

namespace gliclass::encoders {
namespace {

runtime::LayerNorm layer_norm(const BertConfig& config) {
  return runtime::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

}  // namespace

// ---------------------------------------------------------------- config

BertConfig BertConfig::from_json(const nlohmann::json& j) {
  const ConfigComponent bert{"bert config"};
  bert.expect_object(j);
  BertConfig c;
  bert.read(j, "model_type", c.model_type);
  if (c.model_type == "roberta") {
    c.vocab_size = 50265, c.pad_token_id = 1;  // RobertaConfig defaults
  } else if (c.model_type == "xlm-roberta") {
    c.pad_token_id = 1;  // XLMRobertaConfig defaults
  } else if (c.model_type != "bert") {
    bert.fail("unsupported model_type '" + c.model_type + "' (expected bert, roberta or xlm-roberta)");
  }
  const ConfigComponent config{c.model_type + " config"};
  config.read(j, "vocab_size", c.vocab_size);
  config.read(j, "hidden_size", c.hidden_size);
  config.read(j, "num_hidden_layers", c.num_hidden_layers);
  config.read(j, "num_attention_heads", c.num_attention_heads);
  config.read(j, "intermediate_size", c.intermediate_size);
  config.read(j, "hidden_act", c.hidden_act);
  config.read(j, "hidden_dropout_prob", c.hidden_dropout_prob);
  config.read(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  config.read(j, "max_position_embeddings", c.max_position_embeddings);
  config.read(j, "type_vocab_size", c.type_vocab_size);
  config.read(j, "initializer_range", c.initializer_range);
  config.read(j, "layer_norm_eps", c.layer_norm_eps);
  config.read(j, "pad_token_id", c.pad_token_id);
  if (j.contains("pad_token_id") && j["pad_token_id"].is_null()) c.pad_token_id = -1;
  config.read(j, "position_embedding_type", c.position_embedding_type);
  // Decoder / cross-attention variants add causal masks and weights an encoder has no use for.
  for (const char* key : {"is_decoder", "add_cross_attention"}) {
    bool flag = false;
    config.read(j, key, flag);
    if (flag) config.fail(std::string("'") + key + "' is not supported by the encoder (expected false, got true)");
  }
  c.validate();
  return c;
}

void BertConfig::validate() const {
  auto got = [](auto v) { return " (got " + std::to_string(v) + ")"; };
  const ConfigComponent config{model_type + " config"};
  for (auto [value, key] : {std::pair{vocab_size, "vocab_size"}, {hidden_size, "hidden_size"},
                            {num_attention_heads, "num_attention_heads"}, {intermediate_size, "intermediate_size"},
                            {max_position_embeddings, "max_position_embeddings"}, {type_vocab_size, "type_vocab_size"}})
    if (value <= 0) config.fail(std::string("'") + key + "' must be positive" + got(value));
  if (num_hidden_layers < 0) config.fail("'num_hidden_layers' must be >= 0" + got(num_hidden_layers));
  if (hidden_size % num_attention_heads != 0)
    config.fail("hidden_size is not a multiple of num_attention_heads (expected a multiple of " +
                        std::to_string(num_attention_heads) + ", got " + std::to_string(hidden_size) + ")");
  if (layer_norm_eps <= 0) config.fail("'layer_norm_eps' must be positive" + got(layer_norm_eps));
  for (double p : {hidden_dropout_prob, attention_probs_dropout_prob})
    if (p < 0 || p >= 1) config.fail("dropout probabilities must be in [0, 1)" + got(p));
  if (position_embedding_type != "absolute" && position_embedding_type != "relative_key" &&
      position_embedding_type != "relative_key_query")
    config.fail("unknown position_embedding_type '" + position_embedding_type +
                        "' (expected absolute, relative_key or relative_key_query)");
  if (roberta_positions() && (pad_token_id < 0 || pad_token_id + 1 >= max_position_embeddings))
    config.fail("position ids start at pad_token_id + 1, so pad_token_id must be in 0.." +
                        std::to_string(max_position_embeddings - 2) + got(pad_token_id));
  activation_by_name(hidden_act, config.name);
}

torch::Tensor bert_position_ids(const BertConfig& config, const torch::Tensor& input_ids, int64_t batch,
                                int64_t length, const torch::Device& device) {
  const auto longs = torch::TensorOptions().dtype(torch::kLong).device(device);
  if (!config.roberta_positions()) return torch::arange(length, longs).unsqueeze(0).expand({batch, length});
  const int64_t pad = config.pad_token_id;
  if (!input_ids.defined())
    return torch::arange(pad + 1, length + pad + 1, longs).unsqueeze(0).expand({batch, length});
  // Non-padding tokens count 1, 2, ... from the left; padding stays at pad.
  auto real = input_ids.ne(pad).to(torch::kLong);
  return real.cumsum(1) * real + pad;
}

// ------------------------------------------------------------ embeddings

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& config) : config_(config) {
  auto words = torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size);
  if (config.pad_token_id >= 0 && config.pad_token_id < config.vocab_size) words.padding_idx(config.pad_token_id);
  word_embeddings = register_module("word_embeddings", torch::nn::Embedding(words));
  auto positions = torch::nn::EmbeddingOptions(config.max_position_embeddings, config.hidden_size);
  if (config.roberta_positions()) positions.padding_idx(config.pad_token_id);
  position_embeddings = register_module("position_embeddings", torch::nn::Embedding(positions));
  token_type_embeddings =
      register_module("token_type_embeddings", torch::nn::Embedding(config.type_vocab_size, config.hidden_size));
  LayerNorm = register_module("LayerNorm", layer_norm(config));
}

// LN(words + token types + positions), summed in HF's order.
torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                          const torch::Tensor& inputs_embeds) {
  auto x = inputs_embeds.defined() ? inputs_embeds : word_embeddings(input_ids);
  const int64_t batch = x.size(0), length = x.size(1);
  auto types = token_type_ids.defined()
                   ? token_type_ids
                   : torch::zeros({batch, length}, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
  x = x + token_type_embeddings(types);
  if (config_.absolute_positions())
    x = x + position_embeddings(bert_position_ids(config_, input_ids, batch, length, x.device()));
  return train_dropout(LayerNorm(x), config_.hidden_dropout_prob, is_training());
}

// ------------------------------------------------------------- attention

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& config)
    : heads_(config.num_attention_heads),
      head_size_(config.head_size()),
      max_positions_(config.max_position_embeddings),
      position_type_(config.position_embedding_type),
      dropout_(config.attention_probs_dropout_prob) {
  query = register_module("query", runtime::Linear(config.hidden_size, config.hidden_size));
  key = register_module("key", runtime::Linear(config.hidden_size, config.hidden_size));
  value = register_module("value", runtime::Linear(config.hidden_size, config.hidden_size));
  if (!config.absolute_positions())
    distance_embedding =
        register_module("distance_embedding", torch::nn::Embedding(2 * max_positions_ - 1, head_size_));
}

torch::Tensor BertSelfAttentionImpl::split_heads(const torch::Tensor& x) const {
  return x.view({x.size(0), x.size(1), heads_, head_size_}).transpose(1, 2);
}

// softmax((q.k [+ q.r_ij] [+ k_j.r_ij]) / sqrt(d) + mask) v, with r_ij the
// embedding of the distance i - j (relative_key[_query]).
torch::Tensor BertSelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& padded_key) {
  const int64_t batch = x.size(0), length = x.size(1);
  auto q = split_heads(query(x)), k = split_heads(key(x)), v = split_heads(value(x));
  auto scores = torch::matmul(q, k.transpose(-1, -2));
  if (distance_embedding) {
    auto pos = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
    auto rel = distance_embedding(pos.unsqueeze(1) - pos.unsqueeze(0) + (max_positions_ - 1)).to(q.scalar_type());
    scores = scores + torch::einsum("bhld,lrd->bhlr", {q, rel});
    if (position_type_ == "relative_key_query") scores = scores + torch::einsum("bhrd,lrd->bhlr", {k, rel});
  }
  scores = scores / std::sqrt(static_cast<double>(head_size_));
  if (padded_key.defined()) scores = scores.masked_fill(padded_key, lowest_value(scores.scalar_type()));
  auto probs = train_dropout(torch::softmax(scores, -1), dropout_, is_training());
  return torch::matmul(probs, v).transpose(1, 2).reshape({batch, length, heads_ * head_size_});
}

BertOutputImpl::BertOutputImpl(int64_t in_features, const BertConfig& config) : dropout_(config.hidden_dropout_prob) {
  dense = register_module("dense", runtime::Linear(in_features, config.hidden_size));
  LayerNorm = register_module("LayerNorm", layer_norm(config));
}

torch::Tensor BertOutputImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return LayerNorm(linear_plus_residual(*dense, x, residual, dropout_, is_training()));
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& config) {
  self = register_module("self", BertSelfAttention(config));
  output = register_module("output", BertOutput(config.hidden_size, config));
}

torch::Tensor BertAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& padded_key) {
  return output(self(x, padded_key), x);
}

BertIntermediateImpl::BertIntermediateImpl(const BertConfig& config)
    : act_(activation_by_name(config.hidden_act, config.model_type + " config")), erf_gelu_(config.hidden_act == "gelu") {
  dense = register_module("dense", runtime::Linear(config.hidden_size, config.intermediate_size));
}

torch::Tensor BertIntermediateImpl::forward(const torch::Tensor& x) {
  return erf_gelu_ ? dense->forward_with(x, {true, {}}) : act_(dense(x));
}

BertLayerImpl::BertLayerImpl(const BertConfig& config) {
  attention = register_module("attention", BertAttention(config));
  intermediate = register_module("intermediate", BertIntermediate(config));
  output = register_module("output", BertOutput(config.intermediate_size, config));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& padded_key) {
  auto attended = attention(x, padded_key);
  return runtime::by_row_blocks(attended, [this](const torch::Tensor& rows) { return output(intermediate(rows), rows); });
}

BertEncoderImpl::BertEncoderImpl(const BertConfig& config) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_.push_back(BertLayer(config));
    layer->push_back(layers_.back());
  }
}

EncoderOutput BertEncoderImpl::forward(const torch::Tensor& hidden, const torch::Tensor& padded_key,
                                       bool output_hidden_states) {
  EncoderOutput out;
  if (output_hidden_states) out.hidden_states.push_back(hidden);
  auto x = hidden;
  for (auto& l : layers_) {
    x = l->forward(x, padded_key);
    if (output_hidden_states) out.hidden_states.push_back(x);
  }
  out.last_hidden_state = x;
  return out;
}

BertPoolerImpl::BertPoolerImpl(const BertConfig& config) {
  dense = register_module("dense", runtime::Linear(config.hidden_size, config.hidden_size));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& last_hidden_state) {
  return torch::tanh(dense(last_hidden_state.select(1, 0)));
}

// ----------------------------------------------------------------- model

BertModelImpl::BertModelImpl(const BertConfig& config) : config_(config) {
  config.validate();
  embeddings = register_module("embeddings", BertEmbeddings(config));
  encoder = register_module("encoder", BertEncoder(config));
  pooler = register_module("pooler", BertPooler(config));
  init_normal_weights(*this, config.initializer_range);
}

torch::Tensor BertModelImpl::embed_tokens(const torch::Tensor& input_ids) {
  return embeddings->word_embeddings(input_ids);
}

namespace {

// Shapes, id ranges and position limits of one call; InputError names the tensor.
void check_input(const EncoderInput& in, const BertConfig& config) {
  const std::string who = config.model_type + ": ";
  const bool has_ids = in.input_ids.defined(), has_embeds = in.inputs_embeds.defined();
  if (has_ids == has_embeds)
    throw InputError(who + "give exactly one of input_ids and inputs_embeds (got " + (has_ids ? "both" : "neither") + ")");
  const auto& ref = has_ids ? in.input_ids : in.inputs_embeds;
  if (ref.dim() != (has_ids ? 2 : 3) || (has_embeds && ref.size(2) != config.hidden_size))
    throw InputError(who + (has_ids ? "input_ids must be [batch, length]"
                                    : "inputs_embeds must be [batch, length, " + std::to_string(config.hidden_size) + "]") +
                     " (got " + c10::str(ref.sizes()) + ")");
  const int64_t batch = ref.size(0), length = ref.size(1);
  if (length == 0) throw InputError(who + "empty sequence (expected length >= 1)");
  // Absolute ids run to length - 1 (RoBERTa: pad + length); relative
  // distances to +-(length - 1) within a 2 * max - 1 table.
  const int64_t limit = config.absolute_positions() && config.roberta_positions()
                            ? config.max_position_embeddings - config.pad_token_id - 1
                            : config.max_position_embeddings;
  if (length > limit)
    throw InputError(who + "sequence too long for the position embeddings (expected <= " + std::to_string(limit) +
                     " tokens, got " + std::to_string(length) + ")");
  auto check = [&](const torch::Tensor& t, const char* name, int64_t range) {
    if (!t.defined()) return;
    if (t.dim() != 2 || t.size(0) != batch || t.size(1) != length)
      throw InputError(who + name + " must be [" + std::to_string(batch) + ", " + std::to_string(length) + "] (got " +
                       c10::str(t.sizes()) + ")");
    if (range <= 0) return;
    auto bad = t.lt(0) | t.ge(range);
    if (bad.any().item<bool>())
      throw InputError(who + name + " value out of range (expected 0.." + std::to_string(range - 1) + ", got " +
                       std::to_string(t.masked_select(bad)[0].item<int64_t>()) + ")");
  };
  check(in.input_ids, "input_ids", config.vocab_size);
  check(in.attention_mask, "attention_mask", 0);
  check(in.token_type_ids, "token_type_ids", config.type_vocab_size);
}

}  // namespace

EncoderOutput BertModelImpl::forward(const EncoderInput& in) {
  check_input(in, config_);
  auto hidden = embeddings(in.input_ids, in.token_type_ids, in.inputs_embeds);
  // HF's extended mask: padded keys get finfo.min for every query; skipped
  // when nothing is padded (same result).
  torch::Tensor padded_key;
  if (in.attention_mask.defined() && !in.attention_mask.ne(0).all().item<bool>())
    padded_key = in.attention_mask.eq(0).unsqueeze(1).unsqueeze(2);
  return encoder(hidden, padded_key, in.output_hidden_states);
}

}  // namespace gliclass::encoders
