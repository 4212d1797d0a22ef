// PEFT LoRA adapter directories: adapter_config.json + adapter_model.safetensors
// (or adapter_model.bin), as peft's save_pretrained writes them.
//
// A target layer W [out,in] gets lora_A [r,in] and lora_B [out,r]:
//   y = x W^T + b + s (x A^T) B^T,   s = alpha / r  (use_rslora: alpha / sqrt(r))
// with r and alpha per layer from rank_pattern / alpha_pattern when given.
// Tensor names are "base_model.model.<module path>.lora_A.weight"; other
// tensors (modules_to_save, biases with bias = "all" | "lora_only") are
// "base_model.model.<module path>.<parameter>" and replace that parameter.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace gliclass::io {

struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 8;
  std::vector<std::string> target_modules;  // module names (suffix match), as PEFT
  double lora_dropout = 0;
  std::vector<std::string> modules_to_save;
  bool fan_in_fan_out = false;
  std::string bias = "none";  // none | all | lora_only
  bool use_rslora = false;
  std::map<std::string, int64_t> rank_pattern;   // module name suffix -> r
  std::map<std::string, double> alpha_pattern;   // module name suffix -> alpha
  std::string base_model_name_or_path;

  // r for the layer whose module path is `path` (rank_pattern, else r).
  int64_t rank(const std::string& path) const;
  // s for a layer of rank r whose module path is `path`.
  double scale(const std::string& path, int64_t r) const;
};

struct LoraLayer {
  torch::Tensor A;  // [r, in]
  torch::Tensor B;  // [out, r]
  double scale = 1;
};

struct PeftAdapter {
  LoraConfig config;
  std::map<std::string, LoraLayer> layers;         // by module path (PEFT prefix removed)
  std::map<std::string, torch::Tensor> replaced;   // parameter path -> new value
};

// Reads and checks an adapter directory: ModelError naming the file and what
// is wrong (missing file, lora_A without lora_B, ranks that disagree,
// fan_in_fan_out, a non-LoRA peft_type).
PeftAdapter read_peft_adapter(const std::filesystem::path& dir);

// Writes adapter_config.json and adapter_model.safetensors (atomically, each).
void write_peft_adapter(const std::filesystem::path& dir, const PeftAdapter& adapter);

}  // namespace gliclass::io
