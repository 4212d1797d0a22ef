// Scorers of the reference's scorers.py: text vector(s) x label vectors ->
// one logit per label slot. Child names equal the checkpoint's
// ("scorer.proj_text", "scorer.mlp.0", "scorer.score_mlp.4", ...).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "io/checkpoint.h"
#include "io/config.h"
#include "runtime/linear.h"

namespace gliclass::model {

struct ScorerInput {
  torch::Tensor text;          // [B,D]; [B,L,D] for token-level scorers (cross-attn)
  torch::Tensor classes;       // [B,K,D]
  torch::Tensor text_mask;     // [B,L] 1 = real text token (token-level scorers)
  torch::Tensor classes_mask;  // [B,K] 1 = a label of this row (optional)
};

class ScorerImpl : public torch::nn::Module {
 public:
  // Returns logits [B,K].
  virtual torch::Tensor forward(const ScorerInput& input) = 0;
  // True when the scorer wants the text as tokens ([B,L,D], "pass" pooling).
  virtual bool token_level() const { return false; }
};
using ScorerPtr = std::shared_ptr<ScorerImpl>;

// Sizes a scorer is built with. The reference ignores scorer_mlp_hidden_size
// for mlp/hopfield (always 256 -> 128); a checkpoint's tensor shapes win.
struct ScorerSizes {
  int64_t hidden = 0;       // D of text and label vectors
  int64_t mlp_hidden = 0;   // first MLP layer width
  int64_t mlp_hidden2 = 0;  // second MLP layer width
  int64_t num_heads = 16;   // cross-attn
  double attn_dropout = 0.1;
};

// Sizes from the config as the reference uses them, then overridden by the
// shapes of "<prefix>scorer.*" tensors in `file` when given.
ScorerSizes scorer_sizes(const io::GLiClassConfig& config, int64_t hidden,
                         const io::TensorFile* file, const std::string& prefix);

// "simple", "weighted-dot", "mlp", "hopfield", "cross-attn"; anything else is a
// ModelError listing these.
ScorerPtr make_scorer(const std::string& type, const ScorerSizes& sizes);
const std::vector<std::string>& scorer_names();

// t . C_k
class DotScorerImpl : public ScorerImpl {
 public:
  torch::Tensor forward(const ScorerInput& input) override;
};

// [t0, l0, t1*l1] -> Linear(3D,4D) -> Dropout(0.1) -> ReLU -> Linear(4D,1),
// with (t0,t1) = split(Linear(D,2D) t) and (l0,l1) likewise for each label.
class WeightedDotScorerImpl : public ScorerImpl {
 public:
  explicit WeightedDotScorerImpl(int64_t hidden, double dropout = 0.1);
  torch::Tensor forward(const ScorerInput& input) override;

  runtime::Linear proj_text{nullptr}, proj_label{nullptr};
  torch::nn::Sequential out_mlp{nullptr};
};

// MLP([t; C_k]): 2D -> h1 -> ReLU -> h2 -> ReLU -> 1.
class MlpScorerImpl : public ScorerImpl {
 public:
  MlpScorerImpl(int64_t hidden, int64_t mlp_hidden, int64_t mlp_hidden2);
  torch::Tensor forward(const ScorerInput& input) override;

  torch::nn::Sequential mlp{nullptr};
};

// One Hopfield update (beta 4): a = softmax_k(beta (W_q C_k).(W_k t)),
// C_k += a_k W_v t, then MLP(C_k): D -> h1 -> ReLU -> h2 -> ReLU -> 1.
// The softmax runs over the row's own labels (classes_mask), as it does in the
// reference for a text alone.
class HopfieldScorerImpl : public ScorerImpl {
 public:
  HopfieldScorerImpl(int64_t hidden, int64_t mlp_hidden, int64_t mlp_hidden2, double beta = 4.0,
                     int64_t num_iterations = 1);
  torch::Tensor forward(const ScorerInput& input) override;

  runtime::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr};
  torch::nn::Sequential mlp{nullptr};

 private:
  double beta_;
  int64_t num_iterations_;
};

// Labels attend to text tokens: q = W_q LN(C), k = W_k LN(t), v = W_v t,
// multi-head softmax(q k^T / sqrt(d_head)) v over real tokens only,
// ctx = LN(W_o ctx); MLP([ctx; C]): 2D -> h1 -> GELU -> h2 -> GELU -> 1.
class CrossAttnScorerImpl : public ScorerImpl {
 public:
  CrossAttnScorerImpl(int64_t hidden, int64_t num_heads, double attn_dropout, int64_t mlp_hidden,
                      int64_t mlp_hidden2);
  torch::Tensor forward(const ScorerInput& input) override;
  bool token_level() const override { return true; }

  torch::nn::LayerNorm q_norm{nullptr}, kv_norm{nullptr}, norm{nullptr};
  runtime::Linear q{nullptr}, k{nullptr}, v{nullptr}, out{nullptr};
  torch::nn::Sequential score_mlp{nullptr};

 private:
  int64_t num_heads_;
  double attn_dropout_;
};

}  // namespace gliclass::model
