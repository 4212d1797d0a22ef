#include "model/heads.h"

#include <algorithm>

namespace gliclass::model {

torch::Tensor l2_normalize(const torch::Tensor& x) { return x / (x.norm(2, -1, /*keepdim=*/true) + 1e-8); }

void init_heads(torch::nn::Module& model, double std, std::initializer_list<const char*> backbones) {
  torch::NoGradGuard no_grad;
  for (const auto& child : model.named_children()) {
    if (std::find(backbones.begin(), backbones.end(), child.key()) != backbones.end()) continue;
    for (const auto& m : child.value()->modules()) {
      if (auto* lin = m->as<torch::nn::Linear>()) {
        lin->weight.normal_(0.0, std);
        if (lin->bias.defined()) lin->bias.zero_();
      } else if (auto* emb = m->as<torch::nn::Embedding>()) {
        emb->weight.normal_(0.0, std);
      } else if (auto* rnn = m->as<torch::nn::LSTM>()) {
        for (auto& p : rnn->named_parameters()) {
          if (p.key().rfind("weight", 0) == 0)
            p.value().normal_(0.0, std);
          else
            p.value().zero_();
        }
      }
    }
  }
}

int64_t dim_of(const io::TensorFile* file, const std::string& name, size_t dim, int64_t fallback) {
  if (file == nullptr || !file->contains(name)) return fallback;
  auto shape = file->shape(name);
  return shape.size() > dim ? shape[dim] : fallback;
}

}  // namespace gliclass::model
