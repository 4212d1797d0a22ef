// The backbone interface: every encoder (deberta_v2, modernbert, bert, ...)
// maps token ids to hidden states. Module names inside each implementation
// equal the Hugging Face state_dict keys, so weights load by name.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace gliclass::encoders {

struct EncoderInput {
  torch::Tensor input_ids;       // [B,L] int64; may be undefined when inputs_embeds is set
  torch::Tensor attention_mask;  // [B,L] int64, 1 = real token
  torch::Tensor token_type_ids;  // [B,L] int64, optional
  torch::Tensor inputs_embeds;   // [B,L,D] float, optional (replaces the word embeddings)
  bool output_hidden_states = false;
  // [B,L] bool, optional: the positions of last_hidden_state the caller
  // reads. At inference an encoder may then run its last layer at these
  // positions alone (keys and values still at every position) and leave the
  // others zero; ignored when hidden states are asked for.
  torch::Tensor read_positions;
};

struct EncoderOutput {
  torch::Tensor last_hidden_state;           // [B,L,D]
  std::vector<torch::Tensor> hidden_states;  // embeddings + one per layer, when asked
};

class EncoderImpl : public torch::nn::Module {
 public:
  virtual EncoderOutput forward(const EncoderInput& input) = 0;
  // The word-embedding lookup alone (for inputs_embeds callers).
  virtual torch::Tensor embed_tokens(const torch::Tensor& input_ids) = 0;
  virtual int64_t hidden_size() const = 0;
  virtual int64_t num_hidden_layers() const = 0;
};
using EncoderPtr = std::shared_ptr<EncoderImpl>;

// Builds the backbone named by encoder_config["model_type"] (default
// "deberta-v2"); an unknown type is a ModelError that lists the known ones.
EncoderPtr make_encoder(const nlohmann::json& encoder_config);

// The model_type values make_encoder accepts, in table order.
std::vector<std::string> known_encoder_types();

// An elementwise activation by its Hugging Face ACT2FN name ("gelu" is the
// exact erf form, "gelu_new" the tanh form, "relu", "silu", ...). Looked up
// once at construction; an unknown name is a ModelError naming `component`.
using Activation = std::function<torch::Tensor(const torch::Tensor&)>;
Activation activation_by_name(const std::string& name, const std::string& component);

}  // namespace gliclass::encoders
