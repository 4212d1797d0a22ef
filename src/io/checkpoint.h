// Reading checkpoint tensors (model.safetensors or pytorch_model.bin) and
// loading them into a module tree by name.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace gliclass::io {

// The tensors of one checkpoint file, by state_dict name.
class TensorFile {
 public:
  virtual ~TensorFile() = default;
  virtual std::vector<std::string> names() const = 0;
  virtual bool contains(const std::string& name) const = 0;
  virtual std::vector<int64_t> shape(const std::string& name) const = 0;
  // The tensor as float32 (F16/BF16 converted), on CPU, owning its memory.
  // Integer and bool tensors come back as int64 (see io/safetensors.h).
  virtual torch::Tensor get(const std::string& name) const = 0;
  // Copies the tensor into `target` (same number of elements; converted to
  // its dtype): the safetensors reader copies float32 straight from the
  // file's pages, with no temporary tensor.
  virtual void read_into(const std::string& name, torch::Tensor& target) const {
    target.copy_(get(name).reshape(target.sizes()));
  }
  // The dtype get() returns for this tensor (kFloat or kLong), without reading it.
  virtual torch::ScalarType dtype(const std::string& name) const {
    return get(name).scalar_type();
  }
  // Where the tensors come from (a file path), for error messages.
  virtual std::string source() const { return {}; }
};

// Memory-mapped safetensors reader (own parser: F32, F16, BF16, I64, ...).
std::unique_ptr<TensorFile> open_safetensors(const std::filesystem::path& file);
// torch.save zip format (data.pkl + data/N), without Python.
std::unique_ptr<TensorFile> open_torch_bin(const std::filesystem::path& file);
// model.safetensors if present, else pytorch_model.bin; ModelError if neither.
std::unique_ptr<TensorFile> open_checkpoint(const std::filesystem::path& model_dir);
// A sharded checkpoint's index (model.safetensors.index.json or
// pytorch_model.bin.index.json: {"weight_map": {name: shard file}}) as one
// TensorFile over its shards, which sit beside the index.
std::unique_ptr<TensorFile> open_sharded(const std::filesystem::path& index_file);

struct LoadOptions {
  // Only checkpoint tensors whose name starts with this are considered, and
  // it is stripped before matching (e.g. "model.encoder_model." to load a
  // backbone alone). Empty = every tensor.
  std::string prefix;
  // Checkpoint-name prefix rewrites applied before matching, in order
  // (e.g. {"model.", ""}: GLiClassModel stores everything under "model.").
  std::vector<std::pair<std::string, std::string>> aliases;
  // Checkpoint tensors whose name contains one of these are ignored when unused.
  std::vector<std::string> ignore_unused;
  // Module tensors that may be absent from the file (left as initialised).
  std::vector<std::string> allow_missing;
};

// Copies every parameter and buffer of `module` from `file`, strictly:
// missing, mis-shaped and unused tensors are all reported together in one
// ModelError, each by name with expected and found shapes.
void load_weights(torch::nn::Module& module, const TensorFile& file,
                  const LoadOptions& options);

}  // namespace gliclass::io
