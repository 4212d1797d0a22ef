#include "model/decoder_kv_scorer.h"

#include <algorithm>

#include "encoders/common.h"

namespace gliclass::model {

encoders::DebertaV2Config decoder_kv_scorer_encoder_config(int64_t hidden, int64_t layers) {
  encoders::DebertaV2Config c;
  c.hidden_size = hidden;
  c.num_hidden_layers = layers;
  c.num_attention_heads = std::max<int64_t>(1, hidden / 64);
  c.intermediate_size = 4 * hidden;
  c.relative_attention = true;
  c.pos_att_type = {"p2c", "c2p"};
  c.max_relative_positions = 512;
  c.validate();
  return c;
}

DecoderKVScorerImpl::DecoderKVScorerImpl(const io::GLiClassConfig& config, int64_t hidden, int64_t label_token,
                                         int64_t sep_token)
    : label_token_(label_token),
      sep_token_(sep_token),
      dropout_(config.dropout),
      normalize_(config.normalize_features) {
  scorer_encoder = register_module(
      "scorer_encoder",
      encoders::DebertaV2Encoder(decoder_kv_scorer_encoder_config(hidden, config.scorer_encoder_num_layers)));
  text_projector = register_module("text_projector", runtime::Linear(hidden, hidden));
  label_projector = register_module("label_projector", runtime::Linear(hidden, hidden));
  // This scorer does read scorer_mlp_hidden_size: 2D -> h -> h/2 -> 1.
  const int64_t h = config.scorer_mlp_hidden_size;
  mlp = register_module("mlp", torch::nn::Sequential(runtime::Linear(2 * hidden, h), torch::nn::ReLU(),
                                                     runtime::Linear(h, h / 2), torch::nn::ReLU(),
                                                     runtime::Linear(h / 2, 1)));
}

ModelOutput DecoderKVScorerImpl::forward(const torch::Tensor& section, const torch::Tensor& ids,
                                         const std::vector<int64_t>& lengths, int64_t num_classes) {
  const int64_t batch = section.size(0), width = section.size(1), hidden = section.size(2);
  auto mask = torch::arange(width, torch::kLong).unsqueeze(0).lt(torch::tensor(lengths, torch::kLong).unsqueeze(1));
  auto states = scorer_encoder->forward(section, mask.to(section.device())).last_hidden_state;

  // Where the text vector (last <<SEP>>) and each label vector (k-th <<LABEL>>) are read.
  auto ids_cpu = ids.to(torch::kCPU).contiguous();
  auto id = ids_cpu.accessor<int64_t, 2>();
  std::vector<int64_t> sep_at(batch, -1);
  std::vector<std::vector<int64_t>> label_at(batch);
  int64_t k_max = num_classes;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < lengths[b]; ++t) {
      if (id[b][t] == sep_token_) sep_at[b] = t;
      if (id[b][t] == label_token_) label_at[b].push_back(t);
    }
    k_max = std::max<int64_t>(k_max, static_cast<int64_t>(label_at[b].size()));
  }
  auto flat = states.reshape({batch * width, hidden});
  auto zero = torch::zeros({1, hidden}, states.options());
  auto row_vector = [&](int64_t b, int64_t t) { return t < 0 ? zero : flat.narrow(0, b * width + t, 1); };
  std::vector<torch::Tensor> texts, labels;
  auto classes_mask = torch::zeros({batch, k_max}, torch::kLong);
  for (int64_t b = 0; b < batch; ++b) {
    texts.push_back(row_vector(b, sep_at[b]));
    for (int64_t k = 0; k < k_max; ++k) {
      const bool present = k < static_cast<int64_t>(label_at[b].size());
      labels.push_back(row_vector(b, present ? label_at[b][k] : -1));
      if (present) classes_mask[b][k] = 1;
    }
  }
  auto text = encoders::train_dropout(text_projector(torch::cat(texts, 0)), dropout_, is_training());  // [B,D]
  auto label = label_projector(torch::cat(labels, 0)).view({batch, k_max, hidden});
  if (normalize_) {  // x / (|x|_2 + 1e-8)
    text = text / (text.norm(2, -1, true) + 1e-8);
    label = label / (label.norm(2, -1, true) + 1e-8);
  }
  auto pairs = torch::cat({text.unsqueeze(1).expand({batch, k_max, hidden}), label}, -1);
  ModelOutput out;
  out.logits = mlp->forward(pairs).squeeze(-1);
  out.text_embeddings = text;
  out.class_embeddings = label;
  out.classes_mask = classes_mask.to(section.device());
  return out;
}

}  // namespace gliclass::model
