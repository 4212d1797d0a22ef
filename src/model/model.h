// A GLiClass model: backbone + heads, as one module tree whose parameter
// names equal the checkpoint's (after the "model." prefix).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "io/config.h"

namespace gliclass::io {
class TensorFile;
}

namespace gliclass::model {

// One padded batch. Row i's real tokens are positions with attention_mask==1,
// always a prefix of the row (right padding).
struct ModelInput {
  torch::Tensor input_ids;       // [B,L] int64
  torch::Tensor attention_mask;  // [B,L] int64
  torch::Tensor token_type_ids;  // [B,L] int64, optional (BERT-style backbones)
  int64_t num_classes = 0;       // K: label slots to return (max labels in the batch)
  // The second sequence of the two-tower architectures (reference.md §1):
  // bi-encoder labels, one row per present label [N,Lc] (N = labels_mask.sum(),
  // row-major over labels_mask); encoder-decoder's "<<LABEL>>l1..<<SEP>>prompt"
  // [B,Lc]. Right padded.
  torch::Tensor class_input_ids;
  torch::Tensor class_attention_mask;
  torch::Tensor labels_mask;  // [B,K] int64, 1 where row b has label k (bi-encoders)
};

struct ModelOutput {
  torch::Tensor logits;            // [B,K] raw scores (logit_scale applied where the reference does)
  torch::Tensor text_embeddings;   // [B,D] (or [B,L,D] for "pass" pooling)
  torch::Tensor class_embeddings;  // [B,K,D]
  torch::Tensor classes_mask;      // [B,K] 1 where a label token was found
};

// Batch invariance (decisions.md): row i's outputs equal what the reference
// computes for that row alone, unpadded, whatever else is in the batch.
class GLiClassModelImpl : public torch::nn::Module {
 public:
  virtual ModelOutput forward(const ModelInput& input) = 0;
};
using ModelPtr = std::shared_ptr<GLiClassModelImpl>;

// architecture_type -> model (random init); ModelError listing the known ones.
ModelPtr make_model(const io::GLiClassConfig& config);

// As above, but sizes the reference does not take from the config (scorer MLP
// widths, LSTM width, layer-wise attention depth) are read from the tensor
// shapes in `shapes` (a checkpoint; "model."-prefixed names) when not null.
ModelPtr make_model(const io::GLiClassConfig& config, const io::TensorFile* shapes);

// Architectures make_model builds.
const std::vector<std::string>& model_architectures();

// make_model + strict weight loading from model_dir, in eval mode, no grad.
ModelPtr load_model(const std::filesystem::path& model_dir, const io::GLiClassConfig& config);

}  // namespace gliclass::model
