// T5 encoder-decoder backbone (Hugging Face modeling_t5.py, transformers
// 4.49; Raffel et al. 2020): pre-norm blocks with RMS LayerNorm (no mean, no
// bias), attention without 1/sqrt(d) scaling and with a learned relative
// position bias (bucketed; bidirectional in the encoder, unidirectional in the
// decoder; only block 0 holds the table, later blocks reuse its bias), a relu
// or gated-gelu feed-forward, and one token embedding ("shared") tied to both
// stacks. Module names equal the HF T5Model state_dict keys
// ("shared.weight", "encoder.block.0.layer.0.SelfAttention.q.weight",
// "decoder.block.1.layer.1.EncDecAttention.o.weight", "decoder.final_layer_norm.weight");
// the stacks' embed_tokens are the shared tensor and are not registered again.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "encoders/encoder.h"
#include "runtime/linear.h"

namespace gliclass::encoders {

// HF's T5Config fields that change the model, with HF's defaults (MT5Config's
// for model_type "mt5"). from_json validates; ModelError names the key.
struct T5Config {
  std::string model_type = "t5";
  int64_t vocab_size = 32128;
  int64_t d_model = 512;
  int64_t d_kv = 64;
  int64_t d_ff = 2048;
  int64_t num_layers = 6;
  int64_t num_decoder_layers = 6;  // null in the json: num_layers
  int64_t num_heads = 8;
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  double dropout_rate = 0.1;
  double layer_norm_epsilon = 1e-6;
  double initializer_factor = 1.0;
  std::string feed_forward_proj = "relu";  // "{act}" or "gated-{act}"

  static T5Config from_json(const nlohmann::json& j);
  void validate() const;

  int64_t inner_dim() const { return num_heads * d_kv; }
  bool gated() const;
  // HF's dense_act_fn: the act of feed_forward_proj, "gelu_new" for "gated-gelu".
  std::string dense_act_fn() const;
};

// HF _relative_position_bucket: relative = key - query positions -> bucket
// ids. Bidirectional: half the buckets per sign. Exact buckets below
// max_exact = buckets/2, then log-spaced up to max_distance, clamped.
torch::Tensor t5_relative_position_bucket(const torch::Tensor& relative, bool bidirectional, int64_t num_buckets,
                                          int64_t max_distance);

// Additive masks (0 = attend, finfo.min = masked), as HF builds them:
// mask [B,L] 1 = real token -> [B,1,1,L] over keys (encoder, cross-attention,
// and GLiClass's bidirectional decoder mask, which is the same for every query).
torch::Tensor t5_padding_bias(const torch::Tensor& mask, torch::ScalarType dtype);
// -> [B,1,L,L]: keys after the query or at padding are masked (decoder).
torch::Tensor t5_causal_bias(const torch::Tensor& mask, torch::ScalarType dtype);

// y = weight * x / sqrt(mean(x^2) + eps), in fp32.
class T5LayerNormImpl : public torch::nn::Module {
 public:
  T5LayerNormImpl(int64_t size, double eps);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(T5LayerNorm);

class T5AttentionImpl : public torch::nn::Module {
 public:
  T5AttentionImpl(const T5Config& config, bool is_decoder, bool has_relative_attention_bias);
  // Bias of every (query, key) pair from the table: [1,H,Lq,Lk].
  torch::Tensor compute_bias(int64_t query_length, int64_t key_length, const torch::Device& device);
  // softmax(q k^T + bias) v, then o. kv: undefined for self-attention, else
  // the encoder states; bias broadcasts to [B,H,Lq,Lk] (position bias + mask).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& kv, const torch::Tensor& bias);

  runtime::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  torch::nn::Embedding relative_attention_bias{nullptr};  // block 0 of self-attention only

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // [B,L,H*d] -> [B,H,L,d]

  int64_t heads_, d_kv_, buckets_, max_distance_;
  bool bidirectional_;
  double dropout_;
};
TORCH_MODULE(T5Attention);

// h + dropout(SelfAttention(layer_norm(h))): HF T5LayerSelfAttention.
class T5LayerSelfAttentionImpl : public torch::nn::Module {
 public:
  T5LayerSelfAttentionImpl(const T5Config& config, bool is_decoder, bool has_relative_attention_bias);
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& bias);

  T5Attention SelfAttention{nullptr};
  T5LayerNorm layer_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(T5LayerSelfAttention);

// h + dropout(EncDecAttention(layer_norm(h), encoder states)).
class T5LayerCrossAttentionImpl : public torch::nn::Module {
 public:
  explicit T5LayerCrossAttentionImpl(const T5Config& config);
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& encoder_states, const torch::Tensor& bias);

  T5Attention EncDecAttention{nullptr};
  T5LayerNorm layer_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(T5LayerCrossAttention);

// HF T5DenseActDense (wo(dropout(act(wi x)))) or, for "gated-*",
// T5DenseGatedActDense (wo(dropout(act(wi_0 x) * wi_1 x))).
class T5DenseImpl : public torch::nn::Module {
 public:
  explicit T5DenseImpl(const T5Config& config);
  torch::Tensor forward(const torch::Tensor& x);

  runtime::Linear wi{nullptr}, wi_0{nullptr}, wi_1{nullptr}, wo{nullptr};

 private:
  Activation act_;
  double dropout_;
};
TORCH_MODULE(T5Dense);

// h + dropout(DenseReluDense(layer_norm(h))).
class T5LayerFFImpl : public torch::nn::Module {
 public:
  explicit T5LayerFFImpl(const T5Config& config);
  torch::Tensor forward(const torch::Tensor& h);

  T5Dense DenseReluDense{nullptr};
  T5LayerNorm layer_norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(T5LayerFF);

// layer.0 self-attention, [layer.1 cross-attention,] then the feed-forward.
class T5BlockImpl : public torch::nn::Module {
 public:
  T5BlockImpl(const T5Config& config, bool is_decoder, bool has_relative_attention_bias);
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& self_bias, const torch::Tensor& encoder_states,
                        const torch::Tensor& cross_bias);
  T5Attention& self_attention() { return self_attention_->SelfAttention; }

  torch::nn::ModuleList layer{nullptr};

 private:
  T5LayerSelfAttention self_attention_{nullptr};
  T5LayerCrossAttention cross_attention_{nullptr};
  T5LayerFF ff_{nullptr};
};
TORCH_MODULE(T5Block);

class T5StackImpl : public torch::nn::Module {
 public:
  // embed_tokens: the model's shared embedding (held, not registered).
  T5StackImpl(const T5Config& config, bool is_decoder, torch::nn::Embedding embed_tokens);
  // input_ids [B,L]; self_mask additive, [B,1,1,L] or [B,1,L,L] (t5_padding_bias /
  // t5_causal_bias); decoder only: encoder_states [B,Le,D] and their
  // additive [B,1,1,Le] mask. Returns final_layer_norm of the last block.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& self_mask,
                        const torch::Tensor& encoder_states = {}, const torch::Tensor& encoder_mask = {});

  torch::nn::ModuleList block{nullptr};
  T5LayerNorm final_layer_norm{nullptr};

 private:
  std::vector<T5Block> blocks_;
  torch::nn::Embedding embed_tokens_{nullptr};
  bool is_decoder_;
  int64_t heads_;
  double dropout_;
};
TORCH_MODULE(T5Stack);

// HF T5Model without the forward plumbing: callers run encoder and decoder
// with the masks their architecture needs.
class T5ModelImpl : public torch::nn::Module {
 public:
  explicit T5ModelImpl(const T5Config& config);
  const T5Config& config() const { return config_; }

  torch::nn::Embedding shared{nullptr};
  T5Stack encoder{nullptr};
  T5Stack decoder{nullptr};

 private:
  T5Config config_;
};
TORCH_MODULE(T5Model);

}  // namespace gliclass::encoders
