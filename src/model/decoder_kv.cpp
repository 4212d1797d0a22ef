#include "model/decoder_kv.h"

#include <algorithm>

#include "gliclass/error.h"
#include "model/uni_encoder.h"

namespace gliclass::model {

int64_t label_section_start(const int64_t* ids, int64_t length, int64_t label, int64_t sep) {
  int64_t first_label = 0;
  while (first_label < length && ids[first_label] != label) ++first_label;
  if (first_label == length) return 0;
  for (int64_t t = first_label - 1; t >= 0; --t)
    if (ids[t] == sep) return t + 1;
  return 0;
}

DecoderKVImpl::DecoderKVImpl(const io::GLiClassConfig& config) {
  if (config.encoder_model_type() != "qwen3")
    throw ModelError("decoder-kv: the backbone must be qwen3 (encoder_config.model_type is \"" +
                     config.encoder_model_type() + "\")");
  if (!config.sep_token_index)
    throw ModelError("decoder-kv: config.json has no sep_token_index (the <<SEP>> id the model was trained with)");
  label_token_ = special_tokens(config).class_token;
  sep_token_ = *config.sep_token_index;
  auto backbone = encoders::Qwen3Config::from_json(config.encoder_config);
  // The reference resizes the embeddings to the GLiClass vocab_size.
  if (config.vocab_size > 0) backbone.vocab_size = config.vocab_size;
  decoder_model = register_module("decoder_model", encoders::Qwen3Model(backbone));
  const int64_t hidden = config.hidden_size > 0 ? config.hidden_size : backbone.hidden_size;
  if (hidden != backbone.hidden_size)
    throw ModelError("decoder-kv: hidden_size must equal the decoder's (expected " +
                     std::to_string(backbone.hidden_size) + ", got " + std::to_string(hidden) + ")");
  scorer = register_module("scorer", DecoderKVScorer(config, hidden, label_token_, sep_token_));
}

ModelOutput DecoderKVImpl::forward(const ModelInput& input) {
  encoders::EncoderInput in;
  in.input_ids = input.input_ids;
  in.attention_mask = input.attention_mask;
  auto states = decoder_model->forward(in).last_hidden_state;  // [B,L,D]

  const int64_t batch = states.size(0);
  auto ids = input.input_ids.to(torch::kCPU).contiguous();
  auto lengths_t = input.attention_mask.sum(1).to(torch::kCPU);
  std::vector<int64_t> starts(batch), lengths(batch);
  int64_t width = 0;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lengths_t[b].item<int64_t>();
    starts[b] = label_section_start(ids[b].data_ptr<int64_t>(), len, label_token_, sep_token_);
    lengths[b] = len - starts[b];
    width = std::max(width, lengths[b]);
  }
  // Each row's section, shifted to the front and zero padded.
  auto section = torch::zeros({batch, width, states.size(2)}, states.options());
  auto section_ids = torch::zeros({batch, width}, torch::kLong);
  for (int64_t b = 0; b < batch; ++b) {
    if (lengths[b] == 0) continue;
    section[b].narrow(0, 0, lengths[b]).copy_(states[b].narrow(0, starts[b], lengths[b]));
    section_ids[b].narrow(0, 0, lengths[b]).copy_(ids[b].narrow(0, starts[b], lengths[b]));
  }
  return scorer->forward(section, section_ids, lengths, input.num_classes);
}

void DecoderKVImpl::extend_caches(const CachedRows& rows) {
  encoders::Qwen3Step step{rows.input_ids, rows.lengths, rows.start_positions, rows.caches, true};
  decoder_model->forward_step(step);
}

ModelOutput DecoderKVImpl::classify_after_caches(const CachedRows& rows, int64_t num_classes) {
  encoders::Qwen3Step step{rows.input_ids, rows.lengths, rows.start_positions, rows.caches, false};
  auto states = decoder_model->forward_step(step);
  return scorer->forward(states, rows.input_ids, rows.lengths, num_classes);
}

std::shared_ptr<DecoderKVImpl> make_decoder_kv(const io::GLiClassConfig& config) {
  return std::make_shared<DecoderKVImpl>(config);
}

}  // namespace gliclass::model
