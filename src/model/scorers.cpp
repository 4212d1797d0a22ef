#include "model/scorers.h"

#include <cmath>
#include <limits>

#include "gliclass/error.h"

namespace gliclass::model {
namespace {

namespace nn = torch::nn;

const std::vector<std::string> kScorers = {"simple", "weighted-dot", "mlp", "hopfield",
                                           "cross-attn"};

// Linear(in,h1) -> act -> Linear(h1,h2) -> act -> Linear(h2,1), children 0..4.
template <typename Act>
nn::Sequential three_layer_mlp(int64_t in, int64_t h1, int64_t h2, Act act) {
  return nn::Sequential(runtime::Linear(in, h1), act, runtime::Linear(h1, h2), act, runtime::Linear(h2, 1));
}

// First dimension of a checkpoint tensor, or `fallback` when absent.
int64_t rows_of(const io::TensorFile* file, const std::string& name, int64_t fallback) {
  if (file == nullptr || !file->contains(name)) return fallback;
  auto shape = file->shape(name);
  return shape.empty() ? fallback : shape[0];
}

void check_text_dims(const ScorerInput& in, int64_t text_dims, const char* who) {
  if (in.text.dim() != text_dims || in.classes.dim() != 3)
    throw ModelError(std::string("scorer: ") + who + " expects text of rank " +
                     std::to_string(text_dims) + " and labels of rank 3 (got " +
                     std::to_string(in.text.dim()) + " and " + std::to_string(in.classes.dim()) +
                     ")");
}

}  // namespace

const std::vector<std::string>& scorer_names() { return kScorers; }

ScorerSizes scorer_sizes(const io::GLiClassConfig& config, int64_t hidden,
                         const io::TensorFile* file, const std::string& prefix) {
  ScorerSizes s;
  s.hidden = hidden;
  s.num_heads = config.scorer_num_heads;
  s.attn_dropout = config.scorer_attn_dropout;
  if (config.scorer_type == "cross-attn") {
    s.mlp_hidden = rows_of(file, prefix + "scorer.score_mlp.0.weight", config.scorer_mlp_hidden_size);
    s.mlp_hidden2 = rows_of(file, prefix + "scorer.score_mlp.2.weight", s.mlp_hidden / 2);
  } else {
    // The reference's MLPScorer / HopfieldScorer never receive
    // scorer_mlp_hidden_size (keyword mismatch): their default 256 applies.
    s.mlp_hidden = rows_of(file, prefix + "scorer.mlp.0.weight", 256);
    s.mlp_hidden2 = rows_of(file, prefix + "scorer.mlp.2.weight", s.mlp_hidden / 2);
  }
  return s;
}

ScorerPtr make_scorer(const std::string& type, const ScorerSizes& s) {
  if (type == "simple") return std::make_shared<DotScorerImpl>();
  if (type == "weighted-dot") return std::make_shared<WeightedDotScorerImpl>(s.hidden);
  if (type == "mlp") return std::make_shared<MlpScorerImpl>(s.hidden, s.mlp_hidden, s.mlp_hidden2);
  if (type == "hopfield")
    return std::make_shared<HopfieldScorerImpl>(s.hidden, s.mlp_hidden, s.mlp_hidden2);
  if (type == "cross-attn")
    return std::make_shared<CrossAttnScorerImpl>(s.hidden, s.num_heads, s.attn_dropout,
                                                 s.mlp_hidden, s.mlp_hidden2);
  std::string known;
  for (const auto& n : kScorers) known += (known.empty() ? "" : ", ") + n;
  throw ModelError("scorer: unknown scorer_type (expected one of " + known + ", got \"" + type +
                   "\")");
}

// --- simple ------------------------------------------------------------------

torch::Tensor DotScorerImpl::forward(const ScorerInput& in) {
  check_text_dims(in, 2, "simple");
  return torch::einsum("bd,bkd->bk", {in.text, in.classes});
}

// --- weighted-dot ------------------------------------------------------------

WeightedDotScorerImpl::WeightedDotScorerImpl(int64_t hidden, double dropout) {
  proj_text = register_module("proj_text", runtime::Linear(hidden, 2 * hidden));
  proj_label = register_module("proj_label", runtime::Linear(hidden, 2 * hidden));
  out_mlp = register_module(
      "out_mlp", nn::Sequential(runtime::Linear(3 * hidden, 4 * hidden), nn::Dropout(dropout),
                                nn::ReLU(), runtime::Linear(4 * hidden, 1)));
}

torch::Tensor WeightedDotScorerImpl::forward(const ScorerInput& in) {
  check_text_dims(in, 2, "weighted-dot");
  const int64_t d = in.text.size(1), k = in.classes.size(1);
  auto t = proj_text->forward(in.text).view({-1, 1, 2, d}).expand({-1, k, 2, d});  // [B,K,2,D]
  auto l = proj_label->forward(in.classes).view({-1, k, 2, d});                     // [B,K,2,D]
  auto t0 = t.select(2, 0), t1 = t.select(2, 1);
  auto l0 = l.select(2, 0), l1 = l.select(2, 1);
  auto cat = torch::cat({t0, l0, t1 * l1}, -1);  // [B,K,3D]
  return out_mlp->forward(cat).squeeze(-1);
}

// --- mlp ---------------------------------------------------------------------

MlpScorerImpl::MlpScorerImpl(int64_t hidden, int64_t mlp_hidden, int64_t mlp_hidden2) {
  mlp = register_module("mlp", three_layer_mlp(2 * hidden, mlp_hidden, mlp_hidden2, nn::ReLU()));
}

torch::Tensor MlpScorerImpl::forward(const ScorerInput& in) {
  check_text_dims(in, 2, "mlp");
  auto t = in.text.unsqueeze(1).expand_as(in.classes);
  return mlp->forward(torch::cat({t, in.classes}, -1)).squeeze(-1);
}

// --- hopfield ----------------------------------------------------------------

HopfieldScorerImpl::HopfieldScorerImpl(int64_t hidden, int64_t mlp_hidden, int64_t mlp_hidden2,
                                       double beta, int64_t num_iterations)
    : beta_(beta), num_iterations_(num_iterations) {
  auto no_bias = [&](const char* name) {
    return register_module(name, runtime::Linear(nn::LinearOptions(hidden, hidden).bias(false)));
  };
  q_proj = no_bias("q_proj");
  k_proj = no_bias("k_proj");
  v_proj = no_bias("v_proj");
  mlp = register_module("mlp", three_layer_mlp(hidden, mlp_hidden, mlp_hidden2, nn::ReLU()));
}

torch::Tensor HopfieldScorerImpl::forward(const ScorerInput& in) {
  check_text_dims(in, 2, "hopfield");
  auto labels = in.classes;
  auto text = in.text.unsqueeze(1);  // [B,1,D]
  // Slots that are not this row's labels take no part in the softmax (a row
  // with no label at all keeps every slot, as the reference does).
  torch::Tensor exclude;
  if (in.classes_mask.defined()) {
    auto own = in.classes_mask.to(labels.device()).to(torch::kBool);
    auto none = own.any(1, /*keepdim=*/true).logical_not();
    exclude = own.logical_or(none).logical_not().unsqueeze(-1);  // [B,K,1]
  }
  for (int64_t it = 0; it < num_iterations_; ++it) {
    auto query = q_proj->forward(labels);                            // [B,K,D]
    auto key = k_proj->forward(text);                                // [B,1,D]
    auto value = v_proj->forward(text);                              // [B,1,D]
    auto attn = torch::bmm(query, key.transpose(1, 2)) * beta_;      // [B,K,1]
    if (exclude.defined()) attn = attn.masked_fill(exclude, -std::numeric_limits<double>::infinity());
    attn = torch::softmax(attn, 1);
    labels = labels + attn * value;
  }
  return mlp->forward(labels).squeeze(-1);
}

// --- cross-attn --------------------------------------------------------------

CrossAttnScorerImpl::CrossAttnScorerImpl(int64_t hidden, int64_t num_heads, double attn_dropout,
                                         int64_t mlp_hidden, int64_t mlp_hidden2)
    : num_heads_(num_heads), attn_dropout_(attn_dropout) {
  if (num_heads <= 0 || hidden % num_heads != 0)
    throw ModelError("scorer: cross-attn hidden size must be a multiple of scorer_num_heads "
                     "(expected a divisor of " + std::to_string(hidden) + ", got " +
                     std::to_string(num_heads) + ")");
  auto ln = [&](const char* name) {
    return register_module(name, nn::LayerNorm(nn::LayerNormOptions({hidden})));
  };
  auto lin = [&](const char* name) { return register_module(name, runtime::Linear(hidden, hidden)); };
  q_norm = ln("q_norm");
  kv_norm = ln("kv_norm");
  q = lin("q");
  k = lin("k");
  v = lin("v");
  out = lin("out");
  norm = ln("norm");
  score_mlp = register_module("score_mlp",
                              three_layer_mlp(2 * hidden, mlp_hidden, mlp_hidden2, nn::GELU()));
}

torch::Tensor CrossAttnScorerImpl::forward(const ScorerInput& in) {
  check_text_dims(in, 3, "cross-attn");
  const int64_t b = in.text.size(0), len = in.text.size(1), d = in.text.size(2);
  const int64_t kk = in.classes.size(1), hd = d / num_heads_;
  // [B,T,D] -> [B,H,T,hd]
  auto heads = [&](const torch::Tensor& x, int64_t t) {
    return x.view({b, t, num_heads_, hd}).transpose(1, 2);
  };
  auto qh = heads(q->forward(q_norm->forward(in.classes)), kk);
  auto kh = heads(k->forward(kv_norm->forward(in.text)), len);
  auto vh = heads(v->forward(in.text), len);
  auto scores = torch::matmul(qh, kh.transpose(-1, -2)) / std::sqrt(static_cast<double>(hd));
  if (in.text_mask.defined()) {
    auto pad = in.text_mask.to(scores.device()).to(torch::kBool).logical_not().view({b, 1, 1, len});
    scores = scores.masked_fill(pad, -std::numeric_limits<double>::infinity());
  }
  auto attn = torch::dropout(torch::softmax(scores, -1), attn_dropout_, is_training());
  auto ctx = torch::matmul(attn, vh).transpose(1, 2).reshape({b, kk, d});
  ctx = norm->forward(out->forward(ctx));
  return score_mlp->forward(torch::cat({ctx, in.classes}, -1)).squeeze(-1);
}

}  // namespace gliclass::model
