// Saving trained models in Hugging Face layout (what the Python reference's
// GLiClassModel.from_pretrained reads): config.json, model.safetensors with
// "model."-prefixed state_dict names and {"format": "pt"} metadata, and the
// tokenizer files of the model trained from. Directories are written whole to
// a temporary sibling, fsynced, then swapped in by rename, so a crash at any
// point leaves either the old checkpoint or the new one, never a mix.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "io/config.h"
#include "model/model.h"

namespace gliclass::train {

// "model." + every parameter and buffer name, detached float copies in state_dict order.
std::vector<std::pair<std::string, torch::Tensor>> model_state(torch::nn::Module& model);

// config.json, model.safetensors and the tokenizer files of tokenizer_dir, into dir.
void write_model_files(const std::filesystem::path& dir, torch::nn::Module& model,
                       const io::GLiClassConfig& config, const std::filesystem::path& tokenizer_dir);

// Builds `dir` atomically: fill(tmp) writes into a fresh temporary directory
// beside it; every file and the directory are fsynced; then tmp replaces dir
// (an atomic exchange where the kernel has one, else two renames with the old
// copy kept as "<dir>.old" until the new one is in place).
void write_dir_atomically(const std::filesystem::path& dir,
                          const std::function<void(const std::filesystem::path&)>& fill);

// `dir`, or its "<dir>.old" when a crash came between the two renames; empty if neither.
std::filesystem::path existing_checkpoint(const std::filesystem::path& dir);

// make_model + strict loading of dir's weights, in training mode, gradients on.
model::ModelPtr load_trainable_model(const std::filesystem::path& dir, const io::GLiClassConfig& config);

// Writes a small file and fsyncs it (no rename; used inside write_dir_atomically).
void write_file_synced(const std::filesystem::path& file, const std::string& content);

}  // namespace gliclass::train
