// BERT / RoBERTa / XLM-RoBERTa backbone (Hugging Face modeling_bert.py and
// modeling_roberta.py, transformers 4.49): absolute (or relative_key[_query])
// positions, token types, post-norm layers. Module names equal the HF
// state_dict keys ("embeddings.word_embeddings.weight",
// "encoder.layer.0.attention.self.query.weight", "pooler.dense.weight").
// RoBERTa differs only in its position ids: real tokens count from
// padding_idx + 1, padding tokens sit at padding_idx.
//
// Padding: keys at padded positions are masked, so real positions of a
// right-padded row equal the row alone; padded positions hold what HF
// computes there (they attend to the real keys).
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "encoders/encoder.h"
#include "runtime/layer_norm.h"
#include "runtime/linear.h"

namespace gliclass::encoders {

// HF's BertConfig (RobertaConfig / XLMRobertaConfig for those model_types)
// fields that change the encoder, with the defaults of that model_type.
struct BertConfig {
  std::string model_type = "bert";  // "bert", "roberta" or "xlm-roberta"
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;  // -1: none
  std::string position_embedding_type = "absolute";  // or relative_key, relative_key_query

  // Defaults by model_type, then the json's values; ModelError names the key.
  static BertConfig from_json(const nlohmann::json& j);
  void validate() const;

  int64_t head_size() const { return hidden_size / num_attention_heads; }
  bool roberta_positions() const { return model_type != "bert"; }
  bool absolute_positions() const { return position_embedding_type == "absolute"; }
};

// The position id of every token (HF BertEmbeddings / RobertaEmbeddings).
// input_ids [B,L] or undefined (then inputs_embeds decides: sequential ids).
torch::Tensor bert_position_ids(const BertConfig& config, const torch::Tensor& input_ids, int64_t batch,
                                int64_t length, const torch::Device& device);

class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit BertEmbeddingsImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                        const torch::Tensor& inputs_embeds);

  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};  // always present (HF); added when absolute
  torch::nn::Embedding token_type_embeddings{nullptr};
  runtime::LayerNorm LayerNorm{nullptr};

 private:
  BertConfig config_;
};
TORCH_MODULE(BertEmbeddings);

class BertSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit BertSelfAttentionImpl(const BertConfig& config);
  // x [B,L,D]; padded_key [B,1,1,L] true = padding (undefined: none).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& padded_key);

  runtime::Linear query{nullptr}, key{nullptr}, value{nullptr};
  torch::nn::Embedding distance_embedding{nullptr};  // relative_key[_query] only

 private:
  torch::Tensor split_heads(const torch::Tensor& x) const;  // [B,L,H*d] -> [B,H,L,d]

  int64_t heads_, head_size_, max_positions_;
  std::string position_type_;
  double dropout_;
};
TORCH_MODULE(BertSelfAttention);

// LayerNorm(dropout(dense(x)) + residual): HF's BertSelfOutput and BertOutput.
class BertOutputImpl : public torch::nn::Module {
 public:
  BertOutputImpl(int64_t in_features, const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);

  runtime::Linear dense{nullptr};
  runtime::LayerNorm LayerNorm{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(BertOutput);

class BertAttentionImpl : public torch::nn::Module {
 public:
  explicit BertAttentionImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& padded_key);

  BertSelfAttention self{nullptr};  // registered as "self"
  BertOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

class BertIntermediateImpl : public torch::nn::Module {
 public:
  explicit BertIntermediateImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  runtime::Linear dense{nullptr};

 private:
  Activation act_;
  bool erf_gelu_;  // hidden_act "gelu": applied inside dense's product (runtime::Epilogue)
};
TORCH_MODULE(BertIntermediate);

class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& padded_key);

  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertOutput output{nullptr};
};
TORCH_MODULE(BertLayer);

class BertEncoderImpl : public torch::nn::Module {
 public:
  explicit BertEncoderImpl(const BertConfig& config);
  // hidden_states: the input and each layer's output, when asked.
  EncoderOutput forward(const torch::Tensor& hidden, const torch::Tensor& padded_key, bool output_hidden_states);

  torch::nn::ModuleList layer{nullptr};

 private:
  std::vector<BertLayer> layers_;
};
TORCH_MODULE(BertEncoder);

// tanh(dense(h[:, 0])): part of every HF BertModel checkpoint, unused by GLiClass.
class BertPoolerImpl : public torch::nn::Module {
 public:
  explicit BertPoolerImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& last_hidden_state);

  runtime::Linear dense{nullptr};
};
TORCH_MODULE(BertPooler);

class BertModelImpl : public EncoderImpl {
 public:
  explicit BertModelImpl(const BertConfig& config);
  EncoderOutput forward(const EncoderInput& input) override;
  torch::Tensor embed_tokens(const torch::Tensor& input_ids) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  int64_t num_hidden_layers() const override { return config_.num_hidden_layers; }
  const BertConfig& config() const { return config_; }

  BertEmbeddings embeddings{nullptr};
  BertEncoder encoder{nullptr};
  BertPooler pooler{nullptr};

 private:
  BertConfig config_;
};
TORCH_MODULE(BertModel);

}  // namespace gliclass::encoders
