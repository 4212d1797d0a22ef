#include "encoders/common.h"

#include "runtime/linear.h"

#include <algorithm>
#include <limits>
#include <optional>

namespace gliclass::encoders {

void for_each_row_and_head(int64_t rows, int64_t heads, const std::function<void(int64_t, int64_t)>& fn) {
  const bool inference = c10::InferenceMode::is_enabled();
  at::parallel_for(0, rows * heads, 1, [&](int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;  // grad mode and inference mode are per thread
    std::optional<c10::InferenceMode> inference_mode;
    if (inference) inference_mode.emplace();
    for (int64_t i = begin; i < end; ++i) fn(i % rows, i / rows);
  });
}

ReadRows read_rows(const torch::Tensor& read_positions, const std::vector<int64_t>& lengths,
                   const std::vector<int64_t>& offsets) {
  TORCH_CHECK(read_positions.dim() == 2 && read_positions.size(0) == static_cast<int64_t>(lengths.size()),
              "read_rows: read_positions must be [B, L] for the batch's B rows");
  const auto read = read_positions.to(torch::kCPU, torch::kBool).contiguous();
  const int64_t width = read.size(1);
  const bool* flags = read.data_ptr<bool>();
  ReadRows out;
  std::vector<int64_t> index;
  for (size_t b = 0; b < lengths.size(); ++b) {
    out.offsets.push_back(static_cast<int64_t>(index.size()));
    auto& row = out.positions.emplace_back();
    for (int64_t i = 0; i < std::min(lengths[b], width); ++i)
      if (flags[static_cast<int64_t>(b) * width + i]) {
        row.push_back(i);
        index.push_back(offsets[b] + i);
      }
  }
  out.index = torch::tensor(index, torch::kLong);
  return out;
}

torch::Tensor computed_rows(const std::optional<ReadRows>& rows, const torch::Tensor& x) {
  return rows ? x.reshape({-1, x.size(-1)}).index_select(0, rows->index.to(x.device())) : x;
}

void config_error(const std::string& component, const std::string& what) {
  throw ModelError(component + ": " + what);
}

const nlohmann::json* find_key(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return (it == j.end() || it->is_null()) ? nullptr : &*it;
}

torch::Tensor train_dropout(const torch::Tensor& x, double p, bool training) {
  return (training && p > 0) ? torch::dropout(x, p, true) : x;
}

torch::Tensor linear_plus_residual(runtime::LinearImpl& linear, const torch::Tensor& x, const torch::Tensor& residual,
                                   double dropout, bool training) {
  if (training) return train_dropout(linear.forward(x), dropout, true) + residual;
  return linear.forward_with(x, {false, residual});
}

double lowest_value(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kDouble: return std::numeric_limits<double>::lowest();
    case torch::kHalf: return -65504.0;
    case torch::kBFloat16: return -3.3895313892515355e38;
    default: return std::numeric_limits<float>::lowest();
  }
}

void init_normal_weights(torch::nn::Module& root, double std) {
  torch::NoGradGuard no_grad;
  for (auto& m : root.modules(/*include_self=*/false)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      lin->weight.normal_(0.0, std);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* emb = m->as<torch::nn::Embedding>()) {
      emb->weight.normal_(0.0, std);
      auto pad = emb->options.padding_idx();
      if (pad && *pad >= 0) emb->weight[*pad].zero_();
    }
  }
}

}  // namespace gliclass::encoders
