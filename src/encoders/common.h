// Pieces every encoder shares: config readers that name the bad key, HF's
// train-only dropout and mask value, and the Linear/Embedding initialisation.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "gliclass/error.h"

namespace gliclass::runtime {
class LinearImpl;  // runtime/linear.h
}  // namespace gliclass::runtime

namespace gliclass::encoders {

// ModelError "<component>: <what>", e.g. "deberta-v2 config: ...".
[[noreturn]] void config_error(const std::string& component, const std::string& what);

// Optional keys: absent or null gives nullptr (the default is kept).
const nlohmann::json* find_key(const nlohmann::json& j, const char* key);

// Reads an optional key into `out` (bool, int64_t, double or std::string);
// a wrong type is a config_error naming the key and the value.
template <typename T>
void read_config(const nlohmann::json& j, const std::string& component, const char* key, T& out) {
  const auto* v = find_key(j, key);
  if (!v) return;
  const char* kind = "a string";
  bool ok = v->is_string();
  if constexpr (std::is_same_v<T, bool>) {
    kind = "true or false", ok = v->is_boolean();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    kind = "an integer";
    ok = v->is_number_integer() || (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>());
  } else if constexpr (std::is_same_v<T, double>) {
    kind = "a number", ok = v->is_number();
  }
  if (!ok) config_error(component, std::string("'") + key + "' must be " + kind + " (got " + v->dump() + ")");
  out = v->get<T>();
}

// One encoder's config.json: reads keys into a config struct and raises
// ModelErrors "<name>: <what>", e.g. "deberta-v2 config: 'vocab_size' must be positive".
struct ConfigComponent {
  std::string name;

  [[noreturn]] void fail(const std::string& what) const { config_error(name, what); }
  template <typename T>
  void read(const nlohmann::json& j, const char* key, T& out) const {
    read_config(j, name, key, out);
  }
  // The config must be a JSON object.
  void expect_object(const nlohmann::json& j) const {
    if (!j.is_object()) fail(std::string("expected a JSON object (got ") + j.type_name() + ")");
  }
};

// HF's inference-time dropout is a no-op; training uses the module's mode.
torch::Tensor train_dropout(const torch::Tensor& x, double p, bool training);

// dropout(linear(x)) + residual, the residual branch of a layer; at inference
// the residual is added inside linear's product (runtime::Epilogue).
torch::Tensor linear_plus_residual(runtime::LinearImpl& linear, const torch::Tensor& x, const torch::Tensor& residual,
                                   double dropout, bool training);

// torch.finfo(dtype).min, the value HF fills masked attention scores with.
double lowest_value(torch::ScalarType dtype);

// Inference attention per (row, head) at the row's own length: a GEMM's
// rounding depends on its shape, so only this makes a row's result the one it
// gets alone, bit for bit. Calls fn(row, head) for every pair, spread over
// LibTorch's threads (head-major, so each thread gets whole heads of every
// row and long and short rows spread evenly); the caller's no-grad and
// inference modes hold inside.
void for_each_row_and_head(int64_t rows, int64_t heads, const std::function<void(int64_t, int64_t)>& fn);

// The positions a packed batch's last layer computes (EncoderInput::
// read_positions), row b's real tokens at packed offsets[b] .. + lengths[b].
struct ReadRows {
  std::vector<std::vector<int64_t>> positions;  // per row: ascending positions in the row
  std::vector<int64_t> offsets;                 // per row: its first in the selected [T']
  torch::Tensor index;                          // [T'] int64: the selected rows' places in the packed [T]
};
ReadRows read_rows(const torch::Tensor& read_positions, const std::vector<int64_t>& lengths,
                   const std::vector<int64_t>& offsets);
// x [T,D] (or [B,L,D], rows as offsets count them) -> the rows a layer
// computes: [T',D] with `rows`, else x itself.
torch::Tensor computed_rows(const std::optional<ReadRows>& rows, const torch::Tensor& x);

// HF _init_weights of BERT and DeBERTa: Linear / Embedding ~ N(0, std), zero
// biases and padding rows; LayerNorm keeps (1, 0). Checkpoints overwrite it.
void init_normal_weights(torch::nn::Module& root, double std);

}  // namespace gliclass::encoders
