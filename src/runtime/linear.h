// y = x W^T + b: torch::nn::Linear with the same parameters and names, whose
// inference forward runs through oneDNN's matmul (runtime/onednn_matmul.h) in
// fp32, bf16 or int8. Every model module uses it, so set_dtype() switches a
// whole model at once.
//
// fp32 reads the weights in place; results differ from LibTorch's by float
// rounding. bf16 and int8 convert the weights once (again only after they
// change) and return fp32; norms, softmax and attention stay fp32. Where
// oneDNN has no optimised kernel for the dtype, the layer runs LibTorch's fp32
// path. Training and autograd always use fp32.
//
// LoRA (io/peft_adapter.h): adapters kept apart from W, each under an id,
// add s (x A^T) B^T while their id is active on the calling thread
// (AdapterScope); a trainable one (add_trainable_lora) always does, with
// dropout on x in training.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <mutex>

#include "gliclass/classifier.h"  // DType
#include "runtime/onednn_matmul.h"

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
  // epilogue(x W^T + b): GELU and/or a residual added (Epilogue), inside the
  // product on the oneDNN path (inference without an adapter); else the same
  // operations one after the other.
  torch::Tensor forward_with(const torch::Tensor& input, const Epilogue& epilogue);
  void set_dtype(DType dtype) { dtype_ = dtype; }
  DType dtype() const { return dtype_; }

  // Adapter `id` (> 0) for this layer, used while that id is active.
  void add_adapter(int id, LoraDelta delta);
  // Trainable A [r,in] (Kaiming-uniform) and B [out,r] (zeros), registered
  // as parameters "lora_A" / "lora_B"; the base weight and bias are frozen.
  void add_trainable_lora(int64_t r, double scale, double dropout);
  // The trainable adapter, if any (A, B, scale).
  LoraDelta trainable_lora() const;

 private:
  torch::Tensor base_forward(const torch::Tensor& input);
  // The adapter of the calling thread's active id, or null.
  const LoraDelta* active_delta() const;
  // The oneDNN matmul that runs `input` (inference, float32 on the CPU), or
  // null where LibTorch's path does.
  std::shared_ptr<const OneDnnMatmul> inference_matmul(const torch::Tensor& input);
  // input [..., in] through mm -> [..., out].
  torch::Tensor through(const OneDnnMatmul& mm, const torch::Tensor& input, const Epilogue& epilogue) const;

  // The oneDNN matmul of the current weights in dtype_, rebuilt when the
  // parameters or the dtype change; null where oneDNN has no optimised kernel.
  std::shared_ptr<const OneDnnMatmul> matmul();

  DType dtype_ = DType::kFloat32;
  std::mutex mutex_;
  std::shared_ptr<const OneDnnMatmul> matmul_;
  DType built_dtype_ = DType::kFloat32;
  const void* built_from_ = nullptr;
  int64_t built_version_ = -1;  // weight and bias versions when matmul_ was built; -1: never
  std::vector<std::pair<int, LoraDelta>> adapters_;
  torch::Tensor lora_A_, lora_B_;
  double lora_scale_ = 0, lora_dropout_ = 0;
};
TORCH_MODULE(Linear);

// Sets the dtype of every Linear in `module` (its submodules included).
void set_dtype(torch::nn::Module& module, DType dtype);

}  // namespace gliclass::runtime
