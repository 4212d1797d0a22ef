// The decoder-kv scorer (reference DecoderKVScorer): a small bidirectional
// DeBERTa-v2 encoder over the label section of the decoder's output
// ("l1<<LABEL>>l2<<LABEL>>...<<SEP>>", in streaming with the opening
// <<SEP>> too), the text vector at the section's last <<SEP>>, one vector
// per <<LABEL>>, projections, and an MLP over [text; label].
// Module names equal the checkpoint's after "model.scorer.": scorer_encoder,
// text_projector, label_projector, mlp.{0,2,4}.
#pragma once
#include <torch/torch.h>

#include "encoders/deberta_v2.h"
#include "io/config.h"
#include "model/model.h"
#include "runtime/linear.h"

namespace gliclass::model {

// The reference builds the scorer's encoder from a fresh DebertaV2Config:
// hidden D, D/64 heads (at least 1), FFN 4D, relative attention c2p+p2c over
// 512 relative positions, HF's defaults otherwise.
encoders::DebertaV2Config decoder_kv_scorer_encoder_config(int64_t hidden, int64_t layers);

class DecoderKVScorerImpl : public torch::nn::Module {
 public:
  DecoderKVScorerImpl(const io::GLiClassConfig& config, int64_t hidden, int64_t label_token, int64_t sep_token);

  // section [B,S,D] (right padded), ids [B,S], lengths: real tokens per row.
  // K = max(num_classes, most <<LABEL>> tokens in a row); missing labels and
  // a row without <<SEP>> read zero vectors, as in the reference.
  ModelOutput forward(const torch::Tensor& section, const torch::Tensor& ids, const std::vector<int64_t>& lengths,
                      int64_t num_classes);

  encoders::DebertaV2Encoder scorer_encoder{nullptr};
  runtime::Linear text_projector{nullptr}, label_projector{nullptr};
  torch::nn::Sequential mlp{nullptr};

 private:
  int64_t label_token_, sep_token_;
  double dropout_;
  bool normalize_;
};
TORCH_MODULE(DecoderKVScorer);

}  // namespace gliclass::model
