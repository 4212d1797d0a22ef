// The bi-encoder architectures (reference GLiClassBiEncoder and
// GLiClassBiEncoderFused): the text through encoder_model, each label alone
// through label_encoder (its own backbone and tokenizer).
//   label vector  c = norm?(ClassProj(BiProj(pool(LabelEnc(label)))))
//   bi-encoder    t = norm?(Dropout(TextProj(pool(Enc(text)))))
//   fused         the text's input embeddings get c at its <<LABEL>> tokens
//                 (row-major against labels_mask); the class outputs are the
//                 encoder states there, t is pooled over every token.
//   logits        scorer(t, C) * logit_scale, -1e3 where labels_mask = 0
// A label's vector depends on nothing but the label, so callers may cache it
// (pipeline/label_cache.h) and score many texts with score().
// Module names equal the checkpoint's after "model.".
#pragma once
#include <torch/torch.h>

#include "encoders/encoder.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "model/model.h"
#include "model/poolings.h"
#include "model/projectors.h"
#include "model/scorers.h"

namespace gliclass::model {

class BiEncoderImpl : public GLiClassModelImpl {
 public:
  BiEncoderImpl(const io::GLiClassConfig& config, const io::TensorFile* shapes);

  // The reference's forward: encode_labels on class_input_ids, then score().
  ModelOutput forward(const ModelInput& input) override;

  // Label token ids [N,Lc] (right padded) -> label vectors [N,D].
  torch::Tensor encode_labels(const torch::Tensor& ids, const torch::Tensor& mask);

  // The text side and the scorer, given the label vectors [N,D] of the
  // labels_mask == 1 slots in row-major order. Uses input_ids,
  // attention_mask, labels_mask (K = its width).
  ModelOutput score(const ModelInput& text, const torch::Tensor& label_vectors);

  bool fused() const { return fused_; }

  encoders::EncoderPtr encoder_model;
  encoders::EncoderPtr label_encoder;
  BiEncoderProjector biencoder_projector{nullptr};
  FeaturesProjector text_projector{nullptr};
  FeaturesProjector classes_projector{nullptr};
  ScorerPtr scorer;
  torch::Tensor logit_scale;  // 0-d, a plain multiplier

 private:
  // pool -> text_projector -> dropout -> normalize?
  torch::Tensor text_vector(const torch::Tensor& hidden, const torch::Tensor& lengths);

  io::GLiClassConfig config_;
  bool fused_ = false;
  int64_t class_token_ = -1;
  Pooling pooling_;
};

std::shared_ptr<BiEncoderImpl> make_bi_encoder(const io::GLiClassConfig& config, const io::TensorFile* shapes);

}  // namespace gliclass::model
