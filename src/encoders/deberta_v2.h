// DeBERTa-v2 / v3 backbone (Hugging Face modeling_deberta_v2.py, transformers
// 4.49): one module per HF class, registered under HF's names, so that
// named_parameters() equals the HF state_dict keys
// ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query_proj.weight", ...).
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "encoders/common.h"
#include "encoders/encoder.h"
#include "runtime/layer_norm.h"
#include "runtime/linear.h"

namespace gliclass::encoders {

// Every field HF's DebertaV2Config (and the modules' getattr defaults) knows,
// with HF's defaults. from_json validates; ModelError names the key.
struct DebertaV2Config {
  int64_t vocab_size = 128100;
  int64_t hidden_size = 1536;
  int64_t num_hidden_layers = 24;
  int64_t num_attention_heads = 24;
  int64_t intermediate_size = 6144;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 0;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-7;
  bool relative_attention = false;
  int64_t max_relative_positions = -1;  // < 1: max_position_embeddings
  int64_t pad_token_id = 0;             // -1: none
  bool position_biased_input = true;
  std::vector<std::string> pos_att_type;  // subset of {"c2p", "p2c"}; "p2c|c2p" accepted
  int64_t position_buckets = -1;          // > 0: log-bucketed relative positions
  bool share_att_key = false;
  std::vector<std::string> norm_rel_ebd = {"none"};  // "layer_norm" adds encoder.LayerNorm
  int64_t embedding_size = 0;        // 0: hidden_size; otherwise embeddings.embed_proj maps it
  int64_t attention_head_size = 0;   // 0: hidden_size / num_attention_heads
  int64_t conv_kernel_size = 0;      // > 0: encoder.conv (ConvLayer after layer 0)
  int64_t conv_groups = 1;
  std::string conv_act = "tanh";

  static DebertaV2Config from_json(const nlohmann::json& j);
  // Checks the invariants (sizes, known names); from_json calls it.
  void validate() const;

  int64_t head_size() const;
  int64_t word_embedding_size() const;
  // HF's pos_ebd_size: the relative span; rel_embeddings has 2x this many rows.
  int64_t relative_span() const;
  int64_t resolved_max_relative_positions() const;
  bool has_c2p() const;
  bool has_p2c() const;
  bool layer_norm_rel_embeddings() const;
};

// Relative-position rows for one sequence length, shared by all layers. The
// relative scores are first computed "wide", [L, 2L-1], column m standing for
// the offset delta = L-1-m (i - j for c2p, a - b for p2c); rel_shift() then
// picks out[i,j] = wide[i, j-i+L-1], so no [L,L] index is ever gathered.
// Past the table (2L-1 > 2*span rows: bucketed long inputs) that would do
// more work than the table has rows, so the scores are taken against the
// table itself, [L, 2*span], and gathered, as HF does:
// out[i,j] = narrow[i, index[i,j]], index[i,j] = rows[j-i+L-1].
struct RelativePositions {
  torch::Tensor c2p_rows;  // [2L-1]: rel table row of column m, clamp(bucket(delta) + span)
  torch::Tensor p2c_rows;  // [2L-1]: rel table row of column m, clamp(span - bucket(delta))
  bool past_table = false;             // 2L-1 > 2*span: scores against the table, gathered
  torch::Tensor c2p_index, p2c_index;  // [L,L] past the table when asked for (batched path), else undefined
};
// with_index: also the [L,L] gather indices past the table (16 L^2 bytes),
// which only the batched path reads; the per-row path reads the rows.
RelativePositions build_relative_positions(const DebertaV2Config& config, int64_t length,
                                           const torch::Device& device, bool with_index = true);
// wide [..., L, 2L-1] -> [..., L, L] with out[i,j] = wide[i, j-i+L-1] (a view).
torch::Tensor rel_shift(const torch::Tensor& wide);

// How one forward pass runs; built by the encoder, shared by its layers.
// Batched: hidden states [B,L,D], every row attending at the padded length
// under HF's pairwise mask (training, autograd, or padding that is not all at
// the end). Packed (inference with right padding): only the real tokens,
// [T,D] with row b at offsets[b] .. offsets[b] + lengths[b], so the linear
// layers do no padding work, and attention runs per (row, head) at the row's
// own length over the thread pool. A GEMM's rounding depends on its shape, so
// only the packed path makes a row's scores bit for bit those it gets alone.
struct AttentionPlan {
  torch::Tensor masked_out;      // batched: [B,1,L,L] true = masked (undefined: none)
  RelativePositions rel;         // batched: for the padded length
  std::vector<int64_t> lengths;  // packed: each row's real length (empty: batched)
  std::vector<int64_t> offsets;  // packed: where each row starts
  torch::Tensor index;           // packed: [T] flat positions in [B*L] of the real tokens
  std::map<int64_t, RelativePositions> rel_by_length;  // packed: one per distinct length
  // Packed, last layer with EncoderInput::read_positions: the query tokens
  // it computes; its output then holds those alone ([T',D]).
  std::optional<ReadRows> queries;
  bool packed() const { return !lengths.empty(); }
};

// One layer's projections of the relative-position table (undefined when the
// layer's pos_att_type does not use them): [H, 2*span, d].
struct PositionProjections {
  torch::Tensor key;    // c2p: key projection of the table
  torch::Tensor query;  // p2c: query projection of the table
};

class DebertaV2EmbeddingsImpl : public torch::nn::Module {
 public:
  explicit DebertaV2EmbeddingsImpl(const DebertaV2Config& config);
  // inputs_embeds replaces the word lookup when defined; mask [B,L] zeroes padding.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                        const torch::Tensor& inputs_embeds, const torch::Tensor& mask);

  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};    // position_biased_input only
  torch::nn::Embedding token_type_embeddings{nullptr};  // type_vocab_size > 0 only
  runtime::Linear embed_proj{nullptr};                // embedding_size != hidden_size only
  runtime::LayerNorm LayerNorm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(DebertaV2Embeddings);

class DisentangledSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit DisentangledSelfAttentionImpl(const DebertaV2Config& config);
  // x [B,L,D] (batched) or [T,D] (packed); pos: this layer's project_positions().
  torch::Tensor forward(const torch::Tensor& x, const AttentionPlan& plan, const PositionProjections& pos);
  // The table (rel_embeddings, normalised) through pos dropout and the
  // position projections; independent of the input.
  PositionProjections project_positions(const torch::Tensor& rel_table);

  runtime::Linear query_proj{nullptr}, key_proj{nullptr}, value_proj{nullptr};
  runtime::Linear pos_key_proj{nullptr}, pos_query_proj{nullptr};  // !share_att_key only

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // [...,L,H*d] -> [...,H,L,d]
  torch::Tensor merge_heads(const torch::Tensor& x) const;  // [B,H,L,d] -> [B,L,H*d]
  // The position side of one attention call: the position projections at
  // each wide column ([..., 2L-1, d], then rel_shift) or, past the table, the
  // projections themselves ([..., 2*span, d]) and the indices to gather.
  struct Tables {
    torch::Tensor key, query;  // undefined when the term is off
    torch::Tensor c2p_index, p2c_index;  // past the table: [L,L]
  };
  Tables tables(const RelativePositions& rel, const PositionProjections& pos) const;
  // softmax((q.k + c2p + p2c) / scale, masked) v for q, k, v [..., L, d].
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const Tables& t,
                       const torch::Tensor& masked_out);
  // q, k, v packed [T,H*d] -> context [T,H*d], at inference: per (row, head),
  // the relative terms and softmax fused (deberta_v2_rows.h), the products
  // in bf16 when the linear layers run bf16 or int8.
  torch::Tensor attend_per_row(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const AttentionPlan& plan, const PositionProjections& pos);

  int64_t heads_, head_size_, scale_factor_;
  bool relative_attention_, c2p_, p2c_, share_att_key_;
  double attention_dropout_, pos_dropout_;
  torch::Tensor scale_;
};
TORCH_MODULE(DisentangledSelfAttention);

// dense -> dropout -> LayerNorm(x + residual): HF's DebertaV2SelfOutput and
// DebertaV2Output (same structure, different input width).
class DebertaV2OutputImpl : public torch::nn::Module {
 public:
  DebertaV2OutputImpl(int64_t in_features, const DebertaV2Config& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);

  runtime::Linear dense{nullptr};
  runtime::LayerNorm LayerNorm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(DebertaV2Output);

class DebertaV2AttentionImpl : public torch::nn::Module {
 public:
  explicit DebertaV2AttentionImpl(const DebertaV2Config& config);
  torch::Tensor forward(const torch::Tensor& x, const AttentionPlan& plan, const PositionProjections& pos);

  DisentangledSelfAttention self{nullptr};  // registered as "self"
  DebertaV2Output output{nullptr};
};
TORCH_MODULE(DebertaV2Attention);

class DebertaV2IntermediateImpl : public torch::nn::Module {
 public:
  explicit DebertaV2IntermediateImpl(const DebertaV2Config& config);
  torch::Tensor forward(const torch::Tensor& x);

  runtime::Linear dense{nullptr};

 private:
  Activation act_;
  bool erf_gelu_;  // hidden_act "gelu": applied inside dense's product (runtime::Epilogue)
};
TORCH_MODULE(DebertaV2Intermediate);

class DebertaV2LayerImpl : public torch::nn::Module {
 public:
  explicit DebertaV2LayerImpl(const DebertaV2Config& config);
  torch::Tensor forward(const torch::Tensor& x, const AttentionPlan& plan, const PositionProjections& pos);

  DebertaV2Attention attention{nullptr};
  DebertaV2Intermediate intermediate{nullptr};
  DebertaV2Output output{nullptr};
};
TORCH_MODULE(DebertaV2Layer);

// HF's ConvLayer: act(conv1d(embeddings)) added to layer 0's output, then LayerNorm.
class ConvLayerImpl : public torch::nn::Module {
 public:
  explicit ConvLayerImpl(const DebertaV2Config& config);
  torch::Tensor forward(const torch::Tensor& embeddings, const torch::Tensor& residual,
                        const torch::Tensor& mask);

  torch::nn::Conv1d conv{nullptr};
  runtime::LayerNorm LayerNorm{nullptr};

 private:
  Activation act_;
  double dropout_;
};
TORCH_MODULE(ConvLayer);

// The layer stack with relative attention; usable alone (e.g. a scorer's
// encoder over given hidden states).
class DebertaV2EncoderImpl : public torch::nn::Module {
 public:
  explicit DebertaV2EncoderImpl(const DebertaV2Config& config);
  // hidden [B,L,D], mask [B,L] (1 = real). hidden_states: input + each layer.
  // read_positions: EncoderInput's. Moving `hidden` in lets inference free it
  // once its real tokens are packed.
  EncoderOutput forward(torch::Tensor hidden, const torch::Tensor& mask, bool output_hidden_states = false,
                        const torch::Tensor& read_positions = {});

  torch::nn::ModuleList layer{nullptr};
  torch::nn::Embedding rel_embeddings{nullptr};  // relative_attention only
  runtime::LayerNorm LayerNorm{nullptr};       // norm_rel_ebd has "layer_norm" only
  ConvLayer conv{nullptr};                       // conv_kernel_size > 0 only

 private:
  // Each layer's project_positions(). Without autograd and outside training
  // they are computed once per LoRA adapter id (runtime::active_adapter(): an
  // adapter on query_proj/key_proj changes them) and kept while no parameter
  // changes (every in-place update, an optimizer step or a load, bumps a
  // version counter).
  std::vector<PositionProjections> position_projections();
  std::vector<int64_t> parameter_versions() const;

  struct PositionCache {
    std::vector<int64_t> versions;
    std::vector<PositionProjections> positions;
  };
  DebertaV2Config config_;
  std::vector<DebertaV2Layer> layers_;
  std::mutex cache_mutex_;
  std::map<int, PositionCache> position_cache_;  // by adapter id
};
TORCH_MODULE(DebertaV2Encoder);

class DebertaV2ModelImpl : public EncoderImpl {
 public:
  explicit DebertaV2ModelImpl(const DebertaV2Config& config);
  EncoderOutput forward(const EncoderInput& input) override;
  torch::Tensor embed_tokens(const torch::Tensor& input_ids) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  int64_t num_hidden_layers() const override { return config_.num_hidden_layers; }
  const DebertaV2Config& config() const { return config_; }

  DebertaV2Embeddings embeddings{nullptr};
  DebertaV2Encoder encoder{nullptr};

 private:
  DebertaV2Config config_;
};
TORCH_MODULE(DebertaV2Model);

}  // namespace gliclass::encoders
