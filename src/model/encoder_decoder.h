// The two encoder-decoder architectures (reference GLiClassEncoderDecoder and
// GLiClassEncoderDecoderCLS, T5 backbones). Two sequences per text:
//   ModelInput.input_ids        the text (+ few-shot examples)
//   ModelInput.class_input_ids  "<<LABEL>>l1<<LABEL>>l2...<<SEP>>prompt"
// encoder-decoder:     text -> encoder; labels -> decoder with a bidirectional
//                      padding mask (T5's unidirectional position bias stays),
//                      cross-attending to the text. Label vectors = decoder
//                      states at <<LABEL>>; text vector = pooling of the
//                      encoder states (optionally through the BiLSTM).
// encoder-decoder-cls: labels -> encoder (label vectors at <<LABEL>>); text ->
//                      causal decoder; text vector = the decoder state at the
//                      text's last real token (pooling_strategy unused).
// Then projectors, optional L2 normalisation, scorer, logit_scale, as the
// uni-encoder. The reference always extracts config.max_num_classes label
// slots (its caller's max_num_classes is dropped), so scorers that mix slots
// (hopfield) see that many here too; logits are returned for the first
// num_classes. Module names equal the checkpoint's after "model.":
// encoder_decoder_model, text_projector, classes_projector, scorer,
// logit_scale, lstm, layer_wise_attention.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "encoders/t5.h"
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

class EncoderDecoderImpl : public GLiClassModelImpl {
 public:
  // labels_in_encoder: false = "encoder-decoder", true = "encoder-decoder-cls".
  EncoderDecoderImpl(const io::GLiClassConfig& config, const io::TensorFile* shapes, bool labels_in_encoder);
  ModelOutput forward(const ModelInput& input) override;

  encoders::T5Model encoder_decoder_model{nullptr};
  FeaturesProjector text_projector{nullptr};
  FeaturesProjector classes_projector{nullptr};
  ScorerPtr scorer;
  torch::Tensor logit_scale;  // 0-d
  LstmSeq2SeqEncoder lstm{nullptr};  // use_lstm (applied by encoder-decoder only, as the reference)
  // squeeze_layers: built by the reference's base class, so a checkpoint has
  // its weights, but never applied by these architectures.
  LayerwiseAttention layer_wise_attention{nullptr};

 private:
  struct Sides {
    torch::Tensor label_states;  // states read at the <<LABEL>> tokens [B,Lc,D]
    torch::Tensor text_vector;   // before the text projector: [B,D] ([B,L,D] for "pass")
    torch::Tensor text_mask;     // [B,L] real text tokens
  };
  Sides run_labels_in_decoder(const ModelInput& in);
  Sides run_labels_in_encoder(const ModelInput& in);

  io::GLiClassConfig config_;
  bool labels_in_encoder_;
  Pooling pooling_;
  ClassFeatureOptions class_options_;
};

std::shared_ptr<EncoderDecoderImpl> make_encoder_decoder(const io::GLiClassConfig& config,
                                                         const io::TensorFile* shapes, bool labels_in_encoder);

}  // namespace gliclass::model
