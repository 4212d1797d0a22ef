#include "model/lstm.h"

namespace gliclass::model {

namespace rnn = torch::nn::utils::rnn;

LstmSeq2SeqEncoderImpl::LstmSeq2SeqEncoderImpl(int64_t input_size, int64_t hidden_size) {
  lstm = register_module(
      "lstm", torch::nn::LSTM(torch::nn::LSTMOptions(input_size, hidden_size)
                                  .num_layers(1)
                                  .batch_first(true)
                                  .bidirectional(true)));
}

torch::Tensor LstmSeq2SeqEncoderImpl::forward(const torch::Tensor& x, const torch::Tensor& lengths) {
  auto cpu_lengths = lengths.to(torch::kCPU, torch::kLong);
  auto packed = rnn::pack_padded_sequence(x, cpu_lengths, /*batch_first=*/true,
                                          /*enforce_sorted=*/false);
  auto result = lstm->forward_with_packed_input(packed);
  return std::get<0>(rnn::pad_packed_sequence(std::get<0>(result), /*batch_first=*/true));
}

}  // namespace gliclass::model
