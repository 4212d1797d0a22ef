// y = x W^T + b: torch::nn::Linear with the same parameters and names, whose
// inference forward runs through oneDNN on LibTorch's thread pool (fp32), or
// in bfloat16. Every model module uses it, so set_dtype() switches a whole
// model at once.
//
// fp32: at::mkldnn_linear (3x faster than Debian's OpenBLAS path for one
// sequence of "small", 2 cores; results differ from it by float rounding).
//
// bf16: the weights are converted once (again only after they change) and
// each call computes bf16(x) bf16(W)^T in bfloat16 through oneDNN
// (AVX512-BF16/AMX where the CPU has them), accumulating in fp32, and returns
// fp32; norms, softmax and attention stay fp32. Training and autograd always
// use fp32.
//
// LoRA (io/peft_adapter.h): adapters kept apart from W, each under an id,
// add s (x A^T) B^T while their id is active on the calling thread
// (AdapterScope); a trainable one (add_trainable_lora) always does, with
// dropout on x in training.
#pragma once
#include <torch/torch.h>

#include <mutex>

#include "gliclass/classifier.h"  // DType

namespace gliclass::runtime {

// The adapter id the calling thread runs with; 0 = none (the base model).
int active_adapter();

class AdapterScope {
 public:
  explicit AdapterScope(int id);
  ~AdapterScope();
  AdapterScope(const AdapterScope&) = delete;
  AdapterScope& operator=(const AdapterScope&) = delete;

 private:
  int previous_;
};

struct LoraDelta {
  torch::Tensor A, B;  // [r,in], [out,r]; undefined when the adapter only replaces parameters
  double scale = 0;
  torch::Tensor weight, bias;  // replacements (modules_to_save, bias = all), may be undefined
};

class LinearImpl : public torch::nn::LinearImpl {
 public:
  using torch::nn::LinearImpl::LinearImpl;
  torch::Tensor forward(const torch::Tensor& input);
  void set_dtype(DType dtype) { dtype_ = dtype; }

  // Adapter `id` (> 0) for this layer, used while that id is active.
  void add_adapter(int id, LoraDelta delta);
  // Trainable A [r,in] (Kaiming-uniform) and B [out,r] (zeros), registered
  // as parameters "lora_A" / "lora_B"; the base weight and bias are frozen.
  void add_trainable_lora(int64_t r, double scale, double dropout);
  // The trainable adapter, if any (A, B, scale).
  LoraDelta trainable_lora() const;

 private:
  torch::Tensor base_forward(const torch::Tensor& input);

  // The bf16 copies of weight and bias, refreshed when the parameters change.
  std::pair<torch::Tensor, torch::Tensor> bf16_parameters();

  DType dtype_ = DType::kFloat32;
  std::mutex mutex_;
  torch::Tensor weight_bf16_, bias_bf16_;
  const void* converted_from_ = nullptr;
  int64_t converted_version_ = -1;  // weight and bias versions at conversion (bf16_parameters)
  std::vector<std::pair<int, LoraDelta>> adapters_;
  torch::Tensor lora_A_, lora_B_;
  double lora_scale_ = 0, lora_dropout_ = 0;
};
TORCH_MODULE(Linear);

// Sets the dtype of every Linear in `module` (its submodules included).
void set_dtype(torch::nn::Module& module, DType dtype);

}  // namespace gliclass::runtime
