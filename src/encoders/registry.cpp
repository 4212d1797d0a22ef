// Name tables of the encoders layer: encoder_config["model_type"] -> the
// backbone builder, and Hugging Face activation names -> functions.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "encoders/bert.h"
#include "encoders/deberta_v2.h"
#include "encoders/encoder.h"
#include "encoders/modernbert.h"
#include "gliclass/error.h"

namespace gliclass::encoders {
namespace {

using Builder = EncoderPtr (*)(const nlohmann::json&);

struct EncoderEntry {
  const char* model_type;
  Builder build;
};

EncoderPtr build_deberta_v2(const nlohmann::json& config) {
  return std::make_shared<DebertaV2ModelImpl>(DebertaV2Config::from_json(config));
}

EncoderPtr build_modernbert(const nlohmann::json& config) {
  return std::make_shared<ModernBertModelImpl>(ModernBertConfig::from_json(config));
}

// BertConfig::from_json reads model_type: RoBERTa-style position ids for
// "roberta" and "xlm-roberta", with those configs' defaults.
EncoderPtr build_bert(const nlohmann::json& config) {
  return std::make_shared<BertModelImpl>(BertConfig::from_json(config));
}

// One row per backbone; make_encoder's error lists the names in this order.
const EncoderEntry kEncoders[] = {
    {"deberta-v2", &build_deberta_v2},
    {"modernbert", &build_modernbert},
    {"bert", &build_bert},
    {"roberta", &build_bert},
    {"xlm-roberta", &build_bert},
};

std::string joined_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Hugging Face activations.py, formula by formula (ACT2FN keys).
const std::vector<std::pair<std::string, Activation>>& activation_table() {
  static const std::vector<std::pair<std::string, Activation>> table = {
      {"gelu", [](const torch::Tensor& x) { return torch::gelu(x); }},
      {"gelu_python",
       [](const torch::Tensor& x) { return x * 0.5 * (1.0 + torch::erf(x / std::sqrt(2.0))); }},
      {"gelu_pytorch_tanh", [](const torch::Tensor& x) { return torch::gelu(x, "tanh"); }},
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      {"gelu_new",
       [](const torch::Tensor& x) {
         return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3.0))));
       }},
      {"gelu_accurate",
       [](const torch::Tensor& x) {
         return 0.5 * x * (1 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * torch::pow(x, 3))));
       }},
      {"gelu_fast",
       [](const torch::Tensor& x) {
         return 0.5 * x * (1.0 + torch::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)));
       }},
      {"gelu_10", [](const torch::Tensor& x) { return torch::clamp(torch::gelu(x), -10, 10); }},
      {"quick_gelu", [](const torch::Tensor& x) { return x * torch::sigmoid(1.702 * x); }},
      // CDF of a normal with mu = 0.707107, sigma = 0.282095 (MEGA's laplace).
      {"laplace",
       [](const torch::Tensor& x) {
         auto z = (x - 0.707107).div(0.282095 * std::sqrt(2.0));
         return 0.5 * (1.0 + torch::erf(z));
       }},
      {"relu", [](const torch::Tensor& x) { return torch::relu(x); }},
      {"relu2", [](const torch::Tensor& x) { return torch::square(torch::relu(x)); }},
      {"relu6", [](const torch::Tensor& x) { return torch::clamp(x, 0, 6); }},
      {"leaky_relu", [](const torch::Tensor& x) { return torch::leaky_relu(x, 0.01); }},
      {"silu", [](const torch::Tensor& x) { return torch::silu(x); }},
      {"swish", [](const torch::Tensor& x) { return torch::silu(x); }},
      {"mish", [](const torch::Tensor& x) { return torch::mish(x); }},
      {"sigmoid", [](const torch::Tensor& x) { return torch::sigmoid(x); }},
      {"tanh", [](const torch::Tensor& x) { return torch::tanh(x); }},
      {"linear", [](const torch::Tensor& x) { return x; }},
  };
  return table;
}

}  // namespace

std::vector<std::string> known_encoder_types() {
  std::vector<std::string> out;
  for (const auto& e : kEncoders) out.emplace_back(e.model_type);
  return out;
}

EncoderPtr make_encoder(const nlohmann::json& encoder_config) {
  if (!encoder_config.is_object())
    throw ModelError("encoders: encoder_config must be a JSON object (got " +
                     std::string(encoder_config.type_name()) + ")");
  std::string model_type = "deberta-v2";  // the reference's default for a dict config
  if (auto it = encoder_config.find("model_type"); it != encoder_config.end() && !it->is_null()) {
    if (!it->is_string())
      throw ModelError("encoders: model_type must be a string (got " + it->dump() + ")");
    model_type = it->get<std::string>();
  }
  for (const auto& e : kEncoders)
    if (model_type == e.model_type) return e.build(encoder_config);
  throw ModelError("encoders: unknown model_type '" + model_type + "' (expected one of: " +
                   joined_names(known_encoder_types()) + ")");
}

Activation activation_by_name(const std::string& name, const std::string& component) {
  std::vector<std::string> names;
  for (const auto& [n, fn] : activation_table()) {
    if (n == name) return fn;
    names.push_back(n);
  }
  throw ModelError(component + ": unknown activation '" + name + "' (expected one of: " +
                   joined_names(names) + ")");
}

}  // namespace gliclass::encoders
