// LoRA adapters on a GLiClass model (io/peft_adapter.h for the format).
//
// An adapter's module paths are resolved against the model in two ways: as
// GLiClass state-dict names ("model.encoder_model.encoder.layer.0...", what
// our trainer writes) or as paths inside the encoder ("encoder.layer.0...",
// the reference's get_peft_model on the encoder). A path that names no layer
// is a ModelError naming it.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "io/peft_adapter.h"

namespace gliclass::model {

// Unmerged: every target linear layer keeps the adapter under `id` (> 0),
// applied while runtime::AdapterScope(id) is active. Replaced parameters must
// belong to linear layers (others: merge the adapter instead).
void attach_adapter(torch::nn::Module& model, const io::PeftAdapter& adapter, int id);

// Merged: W += s B A for every target layer, replaced parameters copied in.
void merge_adapter(torch::nn::Module& model, const io::PeftAdapter& adapter);

// Trainable LoRA on the encoder's linear layers whose name (last path part)
// is in config.target_modules. Besides the adapters only the linear layers of
// the heads (projectors, scorer) stay trainable; every other parameter is
// frozen. Returns the adapted layers' paths.
std::vector<std::string> add_trainable_lora(torch::nn::Module& model, const io::LoraConfig& config);

// The trained adapter in PEFT layout: A and B of every trainable layer, and
// the heads' trainable linear layers as modules_to_save, under GLiClass
// state-dict names.
io::PeftAdapter trained_adapter(torch::nn::Module& model, const io::LoraConfig& config);

}  // namespace gliclass::model
