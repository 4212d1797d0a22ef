// The uni-encoder architecture (reference GLiClassUniEncoder): labels, prompt
// and text in one sequence through one backbone; label vectors are read at the
// <<LABEL>> tokens, the text vector is a pooling of the text tokens.
// Module names equal the checkpoint's after "model.": encoder_model,
// text_projector, classes_projector, scorer, logit_scale, lstm,
// layer_wise_attention, segment_embeddings.
#pragma once
#include <torch/torch.h>

#include "encoders/encoder.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "model/features.h"
#include "model/layerwise_attention.h"
#include "model/lstm.h"
#include "model/model.h"
#include "model/poolings.h"
#include "model/projectors.h"
#include "model/scorers.h"

namespace gliclass::model {

// The <<LABEL>>/<<SEP>>/<<EXAMPLE>> ids with the reference's fallback for -1:
// vocab_size + 0/1/2 (vocab_size of the GLiClass config, else the encoder's).
struct SpecialTokens {
  int64_t class_token = -1;
  int64_t text_token = -1;
  int64_t example_token = -1;
};
SpecialTokens special_tokens(const io::GLiClassConfig& config);

class UniEncoderImpl : public GLiClassModelImpl {
 public:
  // Sizes the reference does not take from the config (scorer MLP widths,
  // LSTM width, layer-wise attention depth) come from `shapes` when given,
  // else from the reference's defaults.
  UniEncoderImpl(const io::GLiClassConfig& config, const io::TensorFile* shapes);
  ModelOutput forward(const ModelInput& input) override;

  encoders::EncoderPtr encoder_model;
  FeaturesProjector text_projector{nullptr};
  FeaturesProjector classes_projector{nullptr};
  ScorerPtr scorer;
  torch::Tensor logit_scale;                               // 0-d
  LstmSeq2SeqEncoder lstm{nullptr};                        // use_lstm
  LayerwiseAttention layer_wise_attention{nullptr};        // squeeze_layers
  torch::nn::Embedding segment_embeddings{nullptr};        // use_segment_embeddings

 private:
  // The encoder states the heads read: last layer, hidden_states[id], or the
  // layer-wise attention mix.
  torch::Tensor encode(const ModelInput& input, const torch::Tensor& lengths);

  io::GLiClassConfig config_;
  SpecialTokens tokens_;
  Pooling pooling_;
  ClassFeatureOptions class_options_;
};

std::shared_ptr<UniEncoderImpl> make_uni_encoder(const io::GLiClassConfig& config,
                                                 const io::TensorFile* shapes);

}  // namespace gliclass::model
