// LstmSeq2SeqEncoder (reference layers.py, config use_lstm): a bidirectional
// LSTM over packed sequences, so each row sees only its own tokens.
#pragma once
#include <torch/torch.h>

namespace gliclass::model {

class LstmSeq2SeqEncoderImpl : public torch::nn::Module {
 public:
  LstmSeq2SeqEncoderImpl(int64_t input_size, int64_t hidden_size);
  // x [B,L,D], lengths [B] (>= 1). Returns [B, max(lengths), 2*hidden],
  // zeros past each row's length (what pad_packed_sequence gives).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lengths);

  torch::nn::LSTM lstm{nullptr};
};
TORCH_MODULE(LstmSeq2SeqEncoder);

}  // namespace gliclass::model
