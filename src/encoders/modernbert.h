// ModernBERT backbone (Hugging Face modeling_modernbert.py, transformers
// 4.49): pre-norm layers, rotary positions, GeGLU MLP, global attention every
// global_attn_every_n_layers layers and sliding-window attention in between.
// Module names equal the HF state_dict keys ("embeddings.tok_embeddings.weight",
// "layers.0.attn.Wqkv.weight", "layers.1.attn_norm.weight", "final_norm.weight").
//
// Padding: padded rows never influence real ones, and every padded position
// of the outputs is zero (what HF's unpadded flash-attention path returns).
// With unpad_padding (the default) the linear layers run on the real tokens
// only; without it every position is computed. Both give the same numbers.
// Right padding is assumed, as in HF's padded path (positions are indices).
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "encoders/common.h"
#include "encoders/encoder.h"
#include "runtime/linear.h"

namespace gliclass::encoders {

// HF's ModernBertConfig fields that change the encoder, with HF's defaults.
// from_json also reads the newer layout (layer_types, rope_parameters).
struct ModernBertConfig {
  int64_t vocab_size = 50368;
  int64_t hidden_size = 768;
  int64_t intermediate_size = 1152;
  int64_t num_hidden_layers = 22;
  int64_t num_attention_heads = 12;
  std::string hidden_activation = "gelu";
  int64_t max_position_embeddings = 8192;
  double initializer_range = 0.02;
  double initializer_cutoff_factor = 2.0;
  double norm_eps = 1e-5;
  bool norm_bias = false;
  int64_t pad_token_id = 50283;  // -1: none
  bool attention_bias = false;
  double attention_dropout = 0.0;
  int64_t global_attn_every_n_layers = 3;
  int64_t local_attention = 128;  // total window: |i - j| <= local_attention / 2
  double global_rope_theta = 160000.0;
  double local_rope_theta = 10000.0;  // null in the json: global_rope_theta
  double embedding_dropout = 0.0;
  bool mlp_bias = false;
  double mlp_dropout = 0.0;
  // "full_attention" or "sliding_attention" per layer; from_json derives it
  // from global_attn_every_n_layers unless the json lists it.
  std::vector<std::string> layer_types;
  // Not an HF key: run the per-token layers on real tokens only.
  bool unpad_padding = true;

  static ModernBertConfig from_json(const nlohmann::json& j);
  // Fills layer_types when empty, then checks every invariant (ModelError).
  void validate();

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  bool is_local_layer(int64_t layer) const { return layer_types.at(layer) == "sliding_attention"; }
};

// LayerNorm whose bias exists only when asked (HF nn.LayerNorm(bias=norm_bias)).
class ModernBertLayerNormImpl : public torch::nn::Module {
 public:
  ModernBertLayerNormImpl(int64_t size, double eps, bool bias);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;

 private:
  int64_t size_;
  double eps_;
};
TORCH_MODULE(ModernBertLayerNorm);

// Rotary tables of one forward: [L, head_dim] each, position p in row p.
struct RotaryTables {
  torch::Tensor cos, sin;
};
// HF's default RoPE: inv_freq_i = theta^(-2i/d), angle = p * inv_freq, the
// angles repeated twice along the head dimension; float32 like HF.
RotaryTables rotary_tables(double theta, int64_t head_dim, int64_t length, const torch::Device& device);
// x * cos + rotate_half(x) * sin, x [B,H,L,d].
torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& rope);

// Scaled dot-product attention over [B,H,L,d] tensors (dense_attention also
// over one (row, head) [L,d] without key_valid). key_valid [B,L] bool
// (undefined: no padding). window < 0: global; otherwise a query at i sees
// the keys j with |i - j| <= window. The banded form computes only the
// blocks of keys within reach (O(L * window)) and gives the same numbers as
// the dense one; local_attention picks it for long sequences.
torch::Tensor dense_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& key_valid, int64_t window, double dropout);
torch::Tensor banded_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& key_valid, int64_t window, double dropout);

class ModernBertEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ModernBertEmbeddingsImpl(const ModernBertConfig& config);
  // Exactly one of input_ids / inputs_embeds (any leading shape).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& inputs_embeds);

  torch::nn::Embedding tok_embeddings{nullptr};
  ModernBertLayerNorm norm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(ModernBertEmbeddings);

// GeGLU: Wo(act(a) * g) + residual with [a, g] = chunk(Wi(x), 2).
class ModernBertMLPImpl : public torch::nn::Module {
 public:
  explicit ModernBertMLPImpl(const ModernBertConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);

  runtime::Linear Wi{nullptr}, Wo{nullptr};

 private:
  Activation act_;
  bool erf_gelu_;  // act_ is the erf GELU: runtime::geglu at inference
  double dropout_;
};
TORCH_MODULE(ModernBertMLP);

// What the layers of one forward share (read-only).
struct ModernBertBatch {
  int64_t batch = 0, length = 0;
  torch::Tensor indices;    // [T] flat indices of the rows' real tokens; undefined: all positions
  torch::Tensor key_valid;  // [B,L] bool; undefined: no padding
  // Inference: each row's real length. With float32 activations attention
  // then runs per (row, head) at the row's own length (attention_rows), so a
  // row's result is bit for bit the one it gets alone (a GEMM's rounding
  // depends on its shape). Empty, or other dtypes: batched, masked.
  std::vector<int64_t> lengths;
  RotaryTables global_rope, local_rope;
  // Last layer with EncoderInput::read_positions (per-row inference only):
  // the query tokens it computes; its output then holds those alone ([T',D]).
  std::optional<ReadRows> queries;
};

// One attention layer's heads: window < 0 is global attention, else a query
// at i sees the keys j with |i - j| <= window.
struct AttentionShape {
  int64_t heads = 0, head_dim = 0, window = -1;
};

// Queries per block of the banded form for a row of `length` tokens, or 0
// where the dense form is cheaper (under about two key windows per query).
int64_t band_block(int64_t length, int64_t window);

// Inference attention per (row, head) of batch.lengths (modernbert_rows.cpp):
// qkv float32 [rows, 3 H d] (the fused projection, rows as batch.indices
// lays them out) -> the heads' outputs [rows, H d], RoPE applied; padding
// positions 0. bf16: the two products in bfloat16 (float32 sums, scores and
// softmax). With batch.queries the selected query tokens' outputs alone.
torch::Tensor attention_rows(const torch::Tensor& qkv, const ModernBertBatch& batch, const AttentionShape& shape,
                             bool bf16);

class ModernBertAttentionImpl : public torch::nn::Module {
 public:
  ModernBertAttentionImpl(const ModernBertConfig& config, int64_t layer_id);
  // x: [T,D] when batch.indices is defined, else [B,L,D]; same shape out,
  // residual added (the layer's input, shaped like x).
  torch::Tensor forward(const torch::Tensor& x, const ModernBertBatch& batch, const torch::Tensor& residual);

  runtime::Linear Wqkv{nullptr}, Wo{nullptr};

 private:
  AttentionShape shape_;
  double dropout_;
};
TORCH_MODULE(ModernBertAttention);

// x + attn(attn_norm(x)), then + mlp(mlp_norm(x)); layer 0 has no attn_norm.
class ModernBertEncoderLayerImpl : public torch::nn::Module {
 public:
  ModernBertEncoderLayerImpl(const ModernBertConfig& config, int64_t layer_id);
  torch::Tensor forward(const torch::Tensor& x, const ModernBertBatch& batch);

  ModernBertLayerNorm attn_norm{nullptr};  // layer_id > 0 only
  ModernBertAttention attn{nullptr};
  ModernBertLayerNorm mlp_norm{nullptr};
  ModernBertMLP mlp{nullptr};
};
TORCH_MODULE(ModernBertEncoderLayer);

class ModernBertModelImpl : public EncoderImpl {
 public:
  explicit ModernBertModelImpl(ModernBertConfig config);
  // hidden_states: the embeddings and each layer's output (the last one before
  // final_norm, as HF); last_hidden_state is after final_norm.
  EncoderOutput forward(const EncoderInput& input) override;
  torch::Tensor embed_tokens(const torch::Tensor& input_ids) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  int64_t num_hidden_layers() const override { return config_.num_hidden_layers; }
  const ModernBertConfig& config() const { return config_; }

  ModernBertEmbeddings embeddings{nullptr};
  torch::nn::ModuleList layers{nullptr};
  ModernBertLayerNorm final_norm{nullptr};

 private:
  ModernBertConfig config_;
  std::vector<ModernBertEncoderLayer> layers_;
};
TORCH_MODULE(ModernBertModel);

}  // namespace gliclass::encoders
