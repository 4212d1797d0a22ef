// Qwen3 decoder (Hugging Face modeling_qwen3.py, transformers 4.52): token
// embeddings, pre-norm layers of grouped-query causal attention (q_norm /
// k_norm RMSNorm per head, rotary positions) and a SiLU-gated MLP, final
// RMSNorm. Module names equal the HF state_dict keys of Qwen3Model
// ("embed_tokens.weight", "layers.0.self_attn.q_proj.weight",
// "layers.0.mlp.gate_proj.weight", "norm.weight").
//
// Positions are explicit and absolute, and each row may continue a KV cache
// of its own (streaming: text appended chunk by chunk, then labels scored
// against it without being stored). Rows run packed ([T,D], real tokens
// only) and attend at their own length, so a row's result never depends on
// the rest of the batch.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "encoders/encoder.h"
#include "runtime/linear.h"

namespace gliclass::encoders {

// HF's Qwen3Config fields that change the decoder, with HF's defaults.
struct Qwen3Config {
  int64_t vocab_size = 151936;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 22016;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 32;
  int64_t head_dim = 128;
  std::string hidden_act = "silu";
  int64_t max_position_embeddings = 32768;
  double initializer_range = 0.02;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool attention_bias = false;
  double attention_dropout = 0.0;
  bool use_sliding_window = false;  // true is refused (not implemented)

  static Qwen3Config from_json(const nlohmann::json& j);
  // Checks the invariants (sizes, heads, rope); ModelError names the key.
  void validate() const;
};

// Keys and values of one sequence's cached tokens, per layer: [Hkv, T, d]
// each, RoPE already applied at the tokens' absolute positions.
struct Qwen3KVCache {
  std::vector<torch::Tensor> keys, values;  // empty: nothing cached
  int64_t length() const { return keys.empty() ? 0 : keys.front().size(1); }
  // Keeps the last n tokens. Their rotations were applied when they were
  // computed, so later tokens still see them at their absolute positions.
  void keep_last(int64_t n);
};

// One call: each row's new tokens run after its cached ones (if any) at
// absolute positions start_positions[b] .. + lengths[b] - 1.
struct Qwen3Step {
  torch::Tensor input_ids;               // [B,L] int64, each row's tokens a prefix
  std::vector<int64_t> lengths;          // real tokens per row
  std::vector<int64_t> start_positions;  // position of each row's first new token
  std::vector<Qwen3KVCache*> past;       // per row, nullptr = no cache; empty = none at all
  bool append = false;                   // store the new tokens' keys/values in `past`
};

// weight * x / sqrt(mean(x^2) + eps), computed in float32.
class Qwen3RMSNormImpl : public torch::nn::Module {
 public:
  Qwen3RMSNormImpl(int64_t size, double eps);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(Qwen3RMSNorm);

// Cosines and sines of the rotation at each token's position: [T, head_dim].
struct Rotation {
  torch::Tensor cos, sin;
};

// The rows of one packed call: row b is tokens offsets[b] .. + lengths[b].
struct PackedRows {
  std::vector<int64_t> offsets, lengths;
  std::vector<Qwen3KVCache*> past;
  bool append = false;
};

class Qwen3AttentionImpl : public torch::nn::Module {
 public:
  Qwen3AttentionImpl(const Qwen3Config& config, int64_t layer);
  // x [T,D] packed; keys/values of each row's past are read (and extended
  // when rows.append) at this layer.
  torch::Tensor forward(const torch::Tensor& x, const Rotation& rot, const PackedRows& rows);

  runtime::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  Qwen3RMSNorm q_norm{nullptr}, k_norm{nullptr};

 private:
  int64_t layer_, heads_, kv_heads_, head_dim_;
  double scaling_, dropout_;
};
TORCH_MODULE(Qwen3Attention);

// down_proj(act(gate_proj(x)) * up_proj(x))
class Qwen3MLPImpl : public torch::nn::Module {
 public:
  explicit Qwen3MLPImpl(const Qwen3Config& config);
  torch::Tensor forward(const torch::Tensor& x);

  runtime::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};

 private:
  Activation act_;
};
TORCH_MODULE(Qwen3MLP);

class Qwen3DecoderLayerImpl : public torch::nn::Module {
 public:
  Qwen3DecoderLayerImpl(const Qwen3Config& config, int64_t layer);
  torch::Tensor forward(const torch::Tensor& x, const Rotation& rot, const PackedRows& rows);

  Qwen3Attention self_attn{nullptr};
  Qwen3MLP mlp{nullptr};
  Qwen3RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(Qwen3DecoderLayer);

class Qwen3ModelImpl : public EncoderImpl {
 public:
  explicit Qwen3ModelImpl(const Qwen3Config& config);
  // Causal over each row's real tokens (a right-padded prefix), positions
  // from 0, no cache; padded positions of the output are zero.
  EncoderOutput forward(const EncoderInput& input) override;
  // The general call (streaming): [B,L,D] final-norm states of the new
  // tokens, zero at padded positions.
  torch::Tensor forward_step(const Qwen3Step& step);
  torch::Tensor embed_tokens(const torch::Tensor& input_ids) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  int64_t num_hidden_layers() const override { return config_.num_hidden_layers; }
  const Qwen3Config& config() const { return config_; }

  torch::nn::Embedding embed_tokens_{nullptr};  // registered as "embed_tokens"
  torch::nn::ModuleList layers{nullptr};
  Qwen3RMSNorm norm{nullptr};

 private:
  // Every layer's output (packed), the last one after the final norm.
  std::vector<torch::Tensor> run_layers(const torch::Tensor& ids, const std::vector<int64_t>& positions,
                                        const PackedRows& rows, bool keep_all);
  Rotation rotation(const std::vector<int64_t>& positions, torch::Device device) const;

  Qwen3Config config_;
  std::vector<Qwen3DecoderLayer> layers_;
  torch::Tensor inv_freq_;  // [head_dim/2]: theta^(-2i/head_dim)
};
TORCH_MODULE(Qwen3Model);

}  // namespace gliclass::encoders
