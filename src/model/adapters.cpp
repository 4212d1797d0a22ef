#include "model/adapters.h"

#include <map>
#include <set>

#include "gliclass/error.h"
#include "runtime/linear.h"

namespace gliclass::model {
namespace {

constexpr const char* kStateDictPrefix = "model.";  // GLiClassModel's base_model_prefix
constexpr const char* kEncoder = "encoder_model";

// Our name for an adapter path: a state-dict name without "model.", or a path
// inside the encoder; the first that `exists` accepts.
template <typename Exists>
std::string resolve(const std::string& path, Exists exists, const char* what) {
  std::vector<std::string> candidates;
  if (path.rfind(kStateDictPrefix, 0) == 0) candidates.push_back(path.substr(std::string(kStateDictPrefix).size()));
  candidates.push_back(std::string(kEncoder) + "." + path);
  candidates.push_back(path);
  for (const auto& c : candidates)
    if (exists(c)) return c;
  throw ModelError(std::string("adapter: ") + what + " '" + path + "' names nothing in this model (tried " +
                   candidates.front() + " and " + candidates[1] + ")");
}

std::map<std::string, runtime::LinearImpl*> linear_layers(torch::nn::Module& model) {
  std::map<std::string, runtime::LinearImpl*> out;
  for (const auto& item : model.named_modules("", /*include_self=*/false))
    if (auto* linear = dynamic_cast<runtime::LinearImpl*>(item.value().get())) out[item.key()] = linear;
  return out;
}

// `path` = "<module>.<parameter>" -> (module, parameter).
std::pair<std::string, std::string> split_parameter(const std::string& path) {
  const auto dot = path.rfind('.');
  if (dot == std::string::npos) return {"", path};
  return {path.substr(0, dot), path.substr(dot + 1)};
}

void check_shape(const torch::Tensor& have, const torch::Tensor& got, const std::string& what) {
  if (have.sizes() != got.sizes())
    throw ModelError("adapter: " + what + " has shape " + c10::str(got.sizes()) + " but the model's is " +
                     c10::str(have.sizes()));
}

}  // namespace

void attach_adapter(torch::nn::Module& model, const io::PeftAdapter& adapter, int id) {
  const auto layers = linear_layers(model);
  auto is_layer = [&](const std::string& p) { return layers.count(p) > 0; };
  std::map<std::string, runtime::LoraDelta> deltas;
  for (const auto& [path, lora] : adapter.layers) {
    const std::string name = resolve(path, is_layer, "LoRA layer");
    const auto& w = layers.at(name)->weight;
    if (lora.A.size(1) != w.size(1) || lora.B.size(0) != w.size(0))
      throw ModelError("adapter: " + path + " has lora_A " + c10::str(lora.A.sizes()) + " and lora_B " +
                       c10::str(lora.B.sizes()) + " for a layer of weight " + c10::str(w.sizes()));
    deltas[name].A = lora.A;
    deltas[name].B = lora.B;
    deltas[name].scale = lora.scale;
  }
  for (const auto& [path, value] : adapter.replaced) {
    const auto [module, param] = split_parameter(path);
    const std::string name = resolve(module, is_layer, "replaced parameter of");
    auto* layer = layers.at(name);
    if (param != "weight" && param != "bias")
      throw ModelError("adapter: '" + path + "' is not a weight or bias of a linear layer");
    check_shape(param == "weight" ? layer->weight : layer->bias, value, path);
    (param == "weight" ? deltas[name].weight : deltas[name].bias) = value;
  }
  for (auto& [name, delta] : deltas) layers.at(name)->add_adapter(id, std::move(delta));
}

void merge_adapter(torch::nn::Module& model, const io::PeftAdapter& adapter) {
  torch::NoGradGuard no_grad;
  const auto layers = linear_layers(model);
  auto is_layer = [&](const std::string& p) { return layers.count(p) > 0; };
  for (const auto& [path, lora] : adapter.layers) {
    const std::string name = resolve(path, is_layer, "LoRA layer");
    auto& w = layers.at(name)->weight;
    const auto delta = lora.scale * torch::matmul(lora.B, lora.A);  // s B A, [out,in]
    check_shape(w, delta, path + " (s B A)");
    w.add_(delta);
  }
  auto params = model.named_parameters(/*recurse=*/true);
  auto buffers = model.named_buffers(/*recurse=*/true);
  auto is_param = [&](const std::string& p) { return params.contains(p) || buffers.contains(p); };
  for (const auto& [path, value] : adapter.replaced) {
    const std::string name = resolve(path, is_param, "replaced parameter");
    auto& target = params.contains(name) ? params[name] : buffers[name];
    check_shape(target, value, path);
    target.copy_(value);
  }
}

std::vector<std::string> add_trainable_lora(torch::nn::Module& model, const io::LoraConfig& config) {
  const std::set<std::string> targets(config.target_modules.begin(), config.target_modules.end());
  std::vector<std::string> adapted;
  for (auto& [name, layer] : linear_layers(model)) {
    if (name.rfind(std::string(kEncoder) + ".", 0) != 0) continue;
    const auto last = name.substr(name.rfind('.') + 1);
    if (!targets.count(last)) continue;
    const int64_t r = config.rank(name);
    layer->add_trainable_lora(r, config.scale(name, r), config.lora_dropout);
    adapted.push_back(name);
  }
  if (adapted.empty())
    throw InputError("lora: no linear layer of the encoder is named like a target (" +
                     c10::Join(", ", config.target_modules) + ")");
  // Trainable: the adapters and the linear layers of the heads (which an
  // unmerged adapter can carry per id); everything else is frozen.
  std::set<const c10::TensorImpl*> head_linears;
  for (auto& [name, layer] : linear_layers(model))
    if (name.rfind(std::string(kEncoder) + ".", 0) != 0)
      for (const auto& p : layer->parameters()) head_linears.insert(p.unsafeGetTensorImpl());
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    const bool lora = item.key().find(".lora_") != std::string::npos;
    if (!lora && !head_linears.count(item.value().unsafeGetTensorImpl())) item.value().set_requires_grad(false);
  }
  return adapted;
}

io::PeftAdapter trained_adapter(torch::nn::Module& model, const io::LoraConfig& config) {
  io::PeftAdapter out;
  out.config = config;
  std::set<std::string> heads;
  for (auto& [name, layer] : linear_layers(model)) {
    const auto lora = layer->trainable_lora();
    if (lora.A.defined()) out.layers[kStateDictPrefix + name] = {lora.A.detach().clone(), lora.B.detach().clone(), lora.scale};
  }
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    const auto& name = item.key();
    if (name.rfind(std::string(kEncoder) + ".", 0) == 0 || !item.value().requires_grad()) continue;
    out.replaced[kStateDictPrefix + name] = item.value().detach().clone();
    const auto dot = name.find('.');
    if (dot != std::string::npos) heads.insert(name.substr(0, dot));
  }
  out.config.modules_to_save.assign(heads.begin(), heads.end());
  return out;
}

}  // namespace gliclass::model
