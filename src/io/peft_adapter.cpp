#include "io/peft_adapter.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "gliclass/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"

namespace gliclass::io {
namespace {

constexpr const char* kPrefix = "base_model.model.";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// PEFT's pattern keys name a module or a suffix of its path at a dot.
bool names_module(const std::string& path, const std::string& key) {
  return path == key || ends_with(path, "." + key);
}

template <typename T>
std::vector<T> list_or_one(const nlohmann::json& j, const char* key) {
  std::vector<T> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  if (j[key].is_array())
    return j[key].get<std::vector<T>>();
  out.push_back(j[key].get<T>());
  return out;
}

LoraConfig parse_config(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw ModelError("adapter: cannot open " + file.string());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    const std::string type = j.value("peft_type", std::string("LORA"));
    if (type != "LORA") throw ModelError("adapter: " + file.string() + " is a " + type + " adapter; only LORA is supported");
    LoraConfig c;
    c.r = j.value("r", c.r);
    c.lora_alpha = j.value("lora_alpha", c.lora_alpha);
    c.lora_dropout = j.value("lora_dropout", c.lora_dropout);
    c.target_modules = list_or_one<std::string>(j, "target_modules");
    c.modules_to_save = list_or_one<std::string>(j, "modules_to_save");
    c.fan_in_fan_out = j.value("fan_in_fan_out", false);
    c.bias = j.value("bias", std::string("none"));
    c.use_rslora = j.value("use_rslora", false);
    if (j.contains("rank_pattern") && j["rank_pattern"].is_object())
      c.rank_pattern = j["rank_pattern"].get<std::map<std::string, int64_t>>();
    if (j.contains("alpha_pattern") && j["alpha_pattern"].is_object())
      c.alpha_pattern = j["alpha_pattern"].get<std::map<std::string, double>>();
    if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string())
      c.base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
    if (c.r < 1) throw ModelError("adapter: " + file.string() + ": r must be at least 1 (got " + std::to_string(c.r) + ")");
    if (c.fan_in_fan_out)
      throw ModelError("adapter: " + file.string() +
                       ": fan_in_fan_out adapters are for GPT-2 style Conv1D layers, which GLiClass models do not have");
    if (c.bias != "none" && c.bias != "all" && c.bias != "lora_only")
      throw ModelError("adapter: " + file.string() + ": unknown bias setting '" + c.bias + "'");
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw ModelError("adapter: " + file.string() + " is not a valid adapter config (" + e.what() + ")");
  }
}

std::unique_ptr<TensorFile> open_adapter_weights(const std::filesystem::path& dir) {
  if (std::filesystem::exists(dir / "adapter_model.safetensors")) return open_safetensors(dir / "adapter_model.safetensors");
  if (std::filesystem::exists(dir / "adapter_model.bin")) return open_torch_bin(dir / "adapter_model.bin");
  throw ModelError("adapter: " + dir.string() + " has neither adapter_model.safetensors nor adapter_model.bin");
}

}  // namespace

int64_t LoraConfig::rank(const std::string& path) const {
  int64_t out = r;
  for (const auto& [key, value] : rank_pattern)
    if (names_module(path, key)) out = value;
  return out;
}

double LoraConfig::scale(const std::string& path, int64_t rank) const {
  double alpha = lora_alpha;
  for (const auto& [key, a] : alpha_pattern)
    if (names_module(path, key)) alpha = a;
  return use_rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / static_cast<double>(rank);
}

PeftAdapter read_peft_adapter(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) throw ModelError("adapter: '" + dir.string() + "' is not a directory");
  PeftAdapter adapter;
  adapter.config = parse_config(dir / "adapter_config.json");
  const auto file = open_adapter_weights(dir);
  std::map<std::string, torch::Tensor> a_of, b_of;
  for (const auto& name : file->names()) {
    std::string path = name.rfind(kPrefix, 0) == 0 ? name.substr(std::string(kPrefix).size()) : name;
    // Older PEFT versions keep the adapter name: ".lora_A.default.weight".
    for (const char* tail : {".lora_A.weight", ".lora_A.default.weight"})
      if (ends_with(path, tail)) a_of[path.substr(0, path.size() - std::string(tail).size())] = file->get(name);
    for (const char* tail : {".lora_B.weight", ".lora_B.default.weight"})
      if (ends_with(path, tail)) b_of[path.substr(0, path.size() - std::string(tail).size())] = file->get(name);
    if (path.find(".lora_") == std::string::npos) adapter.replaced[path] = file->get(name);
  }
  for (const auto& [path, a] : a_of) {
    auto b = b_of.find(path);
    if (b == b_of.end()) throw ModelError("adapter: " + file->source() + " has lora_A but no lora_B for " + path);
    if (a.dim() != 2 || b->second.dim() != 2 || a.size(0) != b->second.size(1))
      throw ModelError("adapter: " + file->source() + ": " + path + " has lora_A " + c10::str(a.sizes()) +
                       " and lora_B " + c10::str(b->second.sizes()) + ", whose ranks disagree");
    adapter.layers[path] = {a, b->second, adapter.config.scale(path, a.size(0))};
  }
  for (const auto& [path, b] : b_of)
    if (!a_of.count(path)) throw ModelError("adapter: " + file->source() + " has lora_B but no lora_A for " + path);
  if (adapter.layers.empty() && adapter.replaced.empty())
    throw ModelError("adapter: " + file->source() + " holds no LoRA tensors");
  return adapter;
}

void write_peft_adapter(const std::filesystem::path& dir, const PeftAdapter& adapter) {
  std::filesystem::create_directories(dir);
  const LoraConfig& c = adapter.config;
  nlohmann::ordered_json j;
  j["peft_type"] = "LORA";
  j["task_type"] = nullptr;
  j["base_model_name_or_path"] = c.base_model_name_or_path;
  j["r"] = c.r;
  j["lora_alpha"] = c.lora_alpha;
  j["lora_dropout"] = c.lora_dropout;
  j["target_modules"] = c.target_modules;
  j["modules_to_save"] = c.modules_to_save.empty() ? nlohmann::ordered_json(nullptr)
                                                   : nlohmann::ordered_json(c.modules_to_save);
  j["fan_in_fan_out"] = c.fan_in_fan_out;
  j["bias"] = c.bias;
  j["use_rslora"] = c.use_rslora;
  j["rank_pattern"] = c.rank_pattern;
  j["alpha_pattern"] = c.alpha_pattern;
  j["inference_mode"] = true;
  const auto tmp = dir / "adapter_config.json.tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) throw Error("adapter: cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, dir / "adapter_config.json");

  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& [path, layer] : adapter.layers) {
    tensors.emplace_back(kPrefix + path + ".lora_A.weight", layer.A.detach().contiguous());
    tensors.emplace_back(kPrefix + path + ".lora_B.weight", layer.B.detach().contiguous());
  }
  for (const auto& [path, t] : adapter.replaced) tensors.emplace_back(kPrefix + path, t.detach().contiguous());
  save_safetensors(dir / "adapter_model.safetensors", tensors, {{"format", "pt"}});
}

}  // namespace gliclass::io
