// T5 with the arithmetic of Hugging Face transformers 4.49; see t5.h.
#include "encoders/t5.h"

#include <cmath>
#include <utility>

#include "encoders/common.h"
#include "gliclass/error.h"

namespace gliclass::encoders {
namespace {

const ConfigComponent kT5Config{"t5 config"};

runtime::Linear linear(int64_t in, int64_t out) {
  return runtime::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

// The "{act}" of "gated-{act}" or "{act}".
std::string act_of(const std::string& feed_forward_proj) {
  const auto dash = feed_forward_proj.find('-');
  return dash == std::string::npos ? feed_forward_proj : feed_forward_proj.substr(dash + 1);
}

// HF T5PreTrainedModel._init_weights (factor = initializer_factor).
void init_t5_weights(T5ModelImpl& model, const T5Config& c) {
  torch::NoGradGuard no_grad;
  const double f = c.initializer_factor;
  const double d = static_cast<double>(c.d_model);
  model.shared->weight.normal_(0.0, f);
  for (auto& m : model.modules(/*include_self=*/false)) {
    if (auto* norm = m->as<T5LayerNormImpl>()) {
      norm->weight.fill_(f);
    } else if (auto* dense = m->as<T5DenseImpl>()) {
      for (auto* wi : {&dense->wi, &dense->wi_0, &dense->wi_1})
        if (*wi) (*wi)->weight.normal_(0.0, f / std::sqrt(d));
      dense->wo->weight.normal_(0.0, f / std::sqrt(static_cast<double>(c.d_ff)));
    } else if (auto* attn = m->as<T5AttentionImpl>()) {
      attn->q->weight.normal_(0.0, f / std::sqrt(d * static_cast<double>(c.d_kv)));
      attn->k->weight.normal_(0.0, f / std::sqrt(d));
      attn->v->weight.normal_(0.0, f / std::sqrt(d));
      attn->o->weight.normal_(0.0, f / std::sqrt(static_cast<double>(c.inner_dim())));
      if (attn->relative_attention_bias) attn->relative_attention_bias->weight.normal_(0.0, f / std::sqrt(d));
    }
  }
}

}  // namespace

// ---------------------------------------------------------------- config

T5Config T5Config::from_json(const nlohmann::json& j) {
  kT5Config.expect_object(j);
  T5Config c;
  kT5Config.read(j, "model_type", c.model_type);
  if (c.model_type == "mt5") {  // MT5Config defaults
    c.vocab_size = 250112, c.d_ff = 1024, c.num_layers = 8, c.num_decoder_layers = 8, c.num_heads = 6;
    c.feed_forward_proj = "gated-gelu";
  } else if (c.model_type != "t5") {
    kT5Config.fail("unsupported model_type '" + c.model_type + "' (expected t5 or mt5)");
  }
  kT5Config.read(j, "vocab_size", c.vocab_size);
  kT5Config.read(j, "d_model", c.d_model);
  kT5Config.read(j, "d_kv", c.d_kv);
  kT5Config.read(j, "d_ff", c.d_ff);
  kT5Config.read(j, "num_layers", c.num_layers);
  c.num_decoder_layers = c.num_layers;
  kT5Config.read(j, "num_decoder_layers", c.num_decoder_layers);
  kT5Config.read(j, "num_heads", c.num_heads);
  kT5Config.read(j, "relative_attention_num_buckets", c.relative_attention_num_buckets);
  kT5Config.read(j, "relative_attention_max_distance", c.relative_attention_max_distance);
  kT5Config.read(j, "dropout_rate", c.dropout_rate);
  kT5Config.read(j, "layer_norm_epsilon", c.layer_norm_epsilon);
  kT5Config.read(j, "initializer_factor", c.initializer_factor);
  kT5Config.read(j, "feed_forward_proj", c.feed_forward_proj);
  c.validate();
  return c;
}

void T5Config::validate() const {
  auto got = [](auto v) { return " (got " + std::to_string(v) + ")"; };
  for (auto [value, key] : {std::pair{vocab_size, "vocab_size"}, {d_model, "d_model"}, {d_kv, "d_kv"},
                            {d_ff, "d_ff"}, {num_heads, "num_heads"},
                            {relative_attention_num_buckets, "relative_attention_num_buckets"},
                            {relative_attention_max_distance, "relative_attention_max_distance"}})
    if (value <= 0) kT5Config.fail(std::string("'") + key + "' must be positive" + got(value));
  if (num_layers < 0 || num_decoder_layers < 0)
    kT5Config.fail("layer counts must be >= 0" + got(std::min(num_layers, num_decoder_layers)));
  // The log-spaced buckets start at half of the exact ones (max_exact).
  if (relative_attention_num_buckets < 4)
    kT5Config.fail("'relative_attention_num_buckets' must be at least 4" +
                                  got(relative_attention_num_buckets));
  if (layer_norm_epsilon <= 0) kT5Config.fail("'layer_norm_epsilon' must be positive" + got(layer_norm_epsilon));
  if (dropout_rate < 0 || dropout_rate >= 1)
    kT5Config.fail("'dropout_rate' must be in [0, 1)" + got(dropout_rate));
  // HF T5Config: "{ACT_FN}" or "gated-{ACT_FN}".
  const auto dash = feed_forward_proj.find('-');
  if (dash != std::string::npos &&
      (feed_forward_proj.substr(0, dash) != "gated" || feed_forward_proj.find('-', dash + 1) != std::string::npos))
    kT5Config.fail("'feed_forward_proj' must be \"{act}\" or \"gated-{act}\" (got \"" +
                                  feed_forward_proj + "\")");
  activation_by_name(dense_act_fn(), kT5Config.name);
}

bool T5Config::gated() const { return feed_forward_proj.rfind("gated-", 0) == 0; }

std::string T5Config::dense_act_fn() const {
  return feed_forward_proj == "gated-gelu" ? "gelu_new" : act_of(feed_forward_proj);
}

// ------------------------------------------------------------- positions

torch::Tensor t5_relative_position_bucket(const torch::Tensor& relative, bool bidirectional, int64_t num_buckets,
                                          int64_t max_distance) {
  auto buckets = torch::zeros_like(relative);
  auto distance = relative;
  if (bidirectional) {
    num_buckets /= 2;
    buckets = buckets + relative.gt(0).to(torch::kLong) * num_buckets;
    distance = relative.abs();
  } else {
    distance = -torch::min(relative, torch::zeros_like(relative));  // keys after the query: 0
  }
  const int64_t max_exact = num_buckets / 2;
  // max_exact + log(n / max_exact) / log(max_distance / max_exact) * (buckets - max_exact)
  auto large = max_exact + (torch::log(distance.to(torch::kFloat) / static_cast<double>(max_exact)) /
                            std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                            static_cast<double>(num_buckets - max_exact))
                               .to(torch::kLong);
  large = torch::clamp_max(large, num_buckets - 1);
  return buckets + torch::where(distance.lt(max_exact), distance, large);
}

torch::Tensor t5_padding_bias(const torch::Tensor& mask, torch::ScalarType dtype) {
  return (1.0 - mask.to(dtype)).unsqueeze(1).unsqueeze(2) * lowest_value(dtype);
}

torch::Tensor t5_causal_bias(const torch::Tensor& mask, torch::ScalarType dtype) {
  const int64_t length = mask.size(1);
  auto later = torch::ones({length, length}, mask.options().dtype(torch::kBool)).triu(1);  // key j > query i
  auto masked = later.unsqueeze(0).unsqueeze(0) | mask.eq(0).unsqueeze(1).unsqueeze(2);
  return torch::zeros(masked.sizes(), mask.options().dtype(dtype)).masked_fill(masked, lowest_value(dtype));
}

// ------------------------------------------------------------ layer norm

T5LayerNormImpl::T5LayerNormImpl(int64_t size, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({size}));
}

torch::Tensor T5LayerNormImpl::forward(const torch::Tensor& x) {
  auto variance = x.to(torch::kFloat).pow(2).mean(-1, /*keepdim=*/true);
  return weight * (x * torch::rsqrt(variance + eps_)).to(weight.scalar_type());
}

// ------------------------------------------------------------- attention

T5AttentionImpl::T5AttentionImpl(const T5Config& config, bool is_decoder, bool has_relative_attention_bias)
    : heads_(config.num_heads),
      d_kv_(config.d_kv),
      buckets_(config.relative_attention_num_buckets),
      max_distance_(config.relative_attention_max_distance),
      bidirectional_(!is_decoder),
      dropout_(config.dropout_rate) {
  q = register_module("q", linear(config.d_model, config.inner_dim()));
  k = register_module("k", linear(config.d_model, config.inner_dim()));
  v = register_module("v", linear(config.d_model, config.inner_dim()));
  o = register_module("o", linear(config.inner_dim(), config.d_model));
  if (has_relative_attention_bias)
    relative_attention_bias = register_module("relative_attention_bias", torch::nn::Embedding(buckets_, heads_));
}

torch::Tensor T5AttentionImpl::compute_bias(int64_t query_length, int64_t key_length, const torch::Device& device) {
  const auto longs = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto relative = torch::arange(key_length, longs).unsqueeze(0) - torch::arange(query_length, longs).unsqueeze(1);
  auto bucket = t5_relative_position_bucket(relative, bidirectional_, buckets_, max_distance_);
  return relative_attention_bias(bucket).permute({2, 0, 1}).unsqueeze(0);  // [1,H,Lq,Lk]
}

torch::Tensor T5AttentionImpl::split_heads(const torch::Tensor& x) const {
  return x.view({x.size(0), x.size(1), heads_, d_kv_}).transpose(1, 2);
}

// softmax(q k^T + bias) v: T5 folds 1/sqrt(d) into the initialisation of q.
torch::Tensor T5AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& kv, const torch::Tensor& bias) {
  const auto& source = kv.defined() ? kv : x;
  auto qh = split_heads(q(x)), kh = split_heads(k(source)), vh = split_heads(v(source));
  auto scores = torch::matmul(qh, kh.transpose(-1, -2)) + bias;
  auto probs = train_dropout(torch::softmax(scores.to(torch::kFloat), -1).to(scores.scalar_type()), dropout_,
                             is_training());
  auto context = torch::matmul(probs, vh).transpose(1, 2).reshape({x.size(0), x.size(1), heads_ * d_kv_});
  return o(context);
}

T5LayerSelfAttentionImpl::T5LayerSelfAttentionImpl(const T5Config& config, bool is_decoder,
                                                   bool has_relative_attention_bias)
    : dropout_(config.dropout_rate) {
  SelfAttention = register_module("SelfAttention", T5Attention(config, is_decoder, has_relative_attention_bias));
  layer_norm = register_module("layer_norm", T5LayerNorm(config.d_model, config.layer_norm_epsilon));
}

torch::Tensor T5LayerSelfAttentionImpl::forward(const torch::Tensor& h, const torch::Tensor& bias) {
  return h + train_dropout(SelfAttention(layer_norm(h), torch::Tensor(), bias), dropout_, is_training());
}

T5LayerCrossAttentionImpl::T5LayerCrossAttentionImpl(const T5Config& config) : dropout_(config.dropout_rate) {
  EncDecAttention = register_module("EncDecAttention", T5Attention(config, /*is_decoder=*/true, false));
  layer_norm = register_module("layer_norm", T5LayerNorm(config.d_model, config.layer_norm_epsilon));
}

torch::Tensor T5LayerCrossAttentionImpl::forward(const torch::Tensor& h, const torch::Tensor& encoder_states,
                                                 const torch::Tensor& bias) {
  return h + train_dropout(EncDecAttention(layer_norm(h), encoder_states, bias), dropout_, is_training());
}

// ---------------------------------------------------------- feed-forward

T5DenseImpl::T5DenseImpl(const T5Config& config)
    : act_(activation_by_name(config.dense_act_fn(), kT5Config.name)), dropout_(config.dropout_rate) {
  if (config.gated()) {
    wi_0 = register_module("wi_0", linear(config.d_model, config.d_ff));
    wi_1 = register_module("wi_1", linear(config.d_model, config.d_ff));
  } else {
    wi = register_module("wi", linear(config.d_model, config.d_ff));
  }
  wo = register_module("wo", linear(config.d_ff, config.d_model));
}

torch::Tensor T5DenseImpl::forward(const torch::Tensor& x) {
  auto hidden = wi ? act_(wi(x)) : act_(wi_0(x)) * wi_1(x);
  return wo(train_dropout(hidden, dropout_, is_training()));
}

T5LayerFFImpl::T5LayerFFImpl(const T5Config& config) : dropout_(config.dropout_rate) {
  DenseReluDense = register_module("DenseReluDense", T5Dense(config));
  layer_norm = register_module("layer_norm", T5LayerNorm(config.d_model, config.layer_norm_epsilon));
}

torch::Tensor T5LayerFFImpl::forward(const torch::Tensor& h) {
  return h + train_dropout(DenseReluDense(layer_norm(h)), dropout_, is_training());
}

// ----------------------------------------------------------------- stack

T5BlockImpl::T5BlockImpl(const T5Config& config, bool is_decoder, bool has_relative_attention_bias) {
  layer = register_module("layer", torch::nn::ModuleList());
  self_attention_ = T5LayerSelfAttention(config, is_decoder, has_relative_attention_bias);
  layer->push_back(self_attention_);
  if (is_decoder) {
    cross_attention_ = T5LayerCrossAttention(config);
    layer->push_back(cross_attention_);
  }
  ff_ = T5LayerFF(config);
  layer->push_back(ff_);
}

torch::Tensor T5BlockImpl::forward(const torch::Tensor& h, const torch::Tensor& self_bias,
                                   const torch::Tensor& encoder_states, const torch::Tensor& cross_bias) {
  auto x = self_attention_(h, self_bias);
  if (cross_attention_) x = cross_attention_(x, encoder_states, cross_bias);
  return ff_(x);
}

T5StackImpl::T5StackImpl(const T5Config& config, bool is_decoder, torch::nn::Embedding embed_tokens)
    : embed_tokens_(std::move(embed_tokens)),
      is_decoder_(is_decoder),
      heads_(config.num_heads),
      dropout_(config.dropout_rate) {
  block = register_module("block", torch::nn::ModuleList());
  const int64_t n = is_decoder ? config.num_decoder_layers : config.num_layers;
  for (int64_t i = 0; i < n; ++i) {
    blocks_.push_back(T5Block(config, is_decoder, /*has_relative_attention_bias=*/i == 0));
    block->push_back(blocks_.back());
  }
  final_layer_norm = register_module("final_layer_norm", T5LayerNorm(config.d_model, config.layer_norm_epsilon));
}

torch::Tensor T5StackImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& self_mask,
                                   const torch::Tensor& encoder_states, const torch::Tensor& encoder_mask) {
  if (is_decoder_ != encoder_states.defined())
    throw InputError(std::string("t5: the ") + (is_decoder_ ? "decoder needs" : "encoder takes no") +
                     " encoder states");
  auto h = train_dropout(embed_tokens_(input_ids), dropout_, is_training());
  if (blocks_.empty()) return train_dropout(final_layer_norm(h), dropout_, is_training());
  const int64_t length = input_ids.size(1);
  // Block 0's position bias plus the mask, reused by every block (HF).
  auto self_bias =
      blocks_.front()->self_attention()->compute_bias(length, length, h.device()) + self_mask.to(h.scalar_type());
  torch::Tensor cross_bias;
  if (is_decoder_) {
    // Cross-attention has no table: zeros plus the encoder's padding mask.
    cross_bias = torch::zeros({1, heads_, length, encoder_states.size(1)}, h.options()) +
                 encoder_mask.to(h.scalar_type());
  }
  for (auto& b : blocks_) h = b->forward(h, self_bias, encoder_states, cross_bias);
  return train_dropout(final_layer_norm(h), dropout_, is_training());
}

// ----------------------------------------------------------------- model

T5ModelImpl::T5ModelImpl(const T5Config& config) : config_(config) {
  config.validate();
  shared = register_module("shared", torch::nn::Embedding(config.vocab_size, config.d_model));
  encoder = register_module("encoder", T5Stack(config, /*is_decoder=*/false, shared));
  decoder = register_module("decoder", T5Stack(config, /*is_decoder=*/true, shared));
  init_t5_weights(*this, config);
}

}  // namespace gliclass::encoders
