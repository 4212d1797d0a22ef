// ModernBERT (Warner et al. 2024) with the arithmetic of Hugging Face
// transformers 4.49's padded (sdpa / eager) path; see modernbert.h.
#include "encoders/modernbert.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include "encoders/common.h"
#include "gliclass/error.h"
#include "runtime/geglu.h"
#include "runtime/layer_norm.h"
#include "runtime/onednn_matmul.h"
#include "runtime/row_blocks.h"
#include "runtime/softmax.h"

namespace gliclass::encoders {
namespace {

const ConfigComponent kModernBertConfig{"modernbert config"};

// RoPE parameters of the newer configs ({"rope_type", "rope_theta"}), and the
// older rope_scaling: only the default (unscaled) rotation exists here.
void read_rope(const nlohmann::json& params, const std::string& where, double& theta) {
  if (!params.is_object()) kModernBertConfig.fail("'" + where + "' must be an object (got " + params.dump() + ")");
  std::string type = "default";
  if (const auto* t = find_key(params, "rope_type")) type = t->is_string() ? t->get<std::string>() : t->dump();
  else if (const auto* t2 = find_key(params, "type")) type = t2->is_string() ? t2->get<std::string>() : t2->dump();
  if (type != "default")
    kModernBertConfig.fail("unsupported rope_type in '" + where + "' (expected default, got " + type + ")");
  kModernBertConfig.read(params, "rope_theta", theta);
}

// a @ b; at inference 2-D float32 products (one (row, head)) go to oneDNN's
// AVX-512 kernel, twice OpenBLAS's AVX2 one on these sizes.
torch::Tensor attention_product(const torch::Tensor& a, const torch::Tensor& b) {
  return torch::GradMode::is_enabled() ? torch::matmul(a, b) : runtime::matmul(a, b);
}

// softmax(scores with `blocked` entries at finfo.min) @ v; the softmax runs
// in float32 for half types (HF upcasts). Overwrites scores (a fresh product).
torch::Tensor masked_softmax_matmul(torch::Tensor scores, const torch::Tensor& blocked, const torch::Tensor& v,
                                    double dropout) {
  if (blocked.defined()) scores.masked_fill_(blocked, lowest_value(scores.scalar_type()));
  torch::Tensor probs;
  if (!torch::GradMode::is_enabled() && scores.scalar_type() == torch::kFloat && scores.is_contiguous()) {
    runtime::softmax_rows_(scores.data_ptr<float>(), scores.numel() / scores.size(-1), scores.size(-1));
    probs = scores;
  } else {
    probs = scores.scalar_type() == torch::kFloat || scores.scalar_type() == torch::kDouble
                ? torch::softmax(scores, -1)
                : torch::softmax(scores, -1, torch::kFloat).to(scores.scalar_type());
  }
  return attention_product(train_dropout(probs, dropout, dropout > 0), v);
}

// HF _init_weights: truncated normal N(0, std) cut at +-cutoff*std (inverse
// CDF sampling), zero biases; LayerNorms keep (1, 0).
void trunc_normal(torch::Tensor& w, double std, double cutoff) {
  const double lo = std::erf(-cutoff / std::sqrt(2.0)), hi = std::erf(cutoff / std::sqrt(2.0));
  w.uniform_(lo, hi).erfinv_().mul_(std * std::sqrt(2.0)).clamp_(-cutoff * std, cutoff * std);
}

void init_linear(runtime::Linear& lin, double std, double cutoff) {
  trunc_normal(lin->weight, std, cutoff);
  if (lin->bias.defined()) lin->bias.zero_();
}

}  // namespace

// ---------------------------------------------------------------- config

ModernBertConfig ModernBertConfig::from_json(const nlohmann::json& j) {
  kModernBertConfig.expect_object(j);
  ModernBertConfig c;
  kModernBertConfig.read(j, "vocab_size", c.vocab_size);
  kModernBertConfig.read(j, "hidden_size", c.hidden_size);
  kModernBertConfig.read(j, "intermediate_size", c.intermediate_size);
  kModernBertConfig.read(j, "num_hidden_layers", c.num_hidden_layers);
  kModernBertConfig.read(j, "num_attention_heads", c.num_attention_heads);
  kModernBertConfig.read(j, "hidden_activation", c.hidden_activation);
  kModernBertConfig.read(j, "max_position_embeddings", c.max_position_embeddings);
  kModernBertConfig.read(j, "initializer_range", c.initializer_range);
  kModernBertConfig.read(j, "initializer_cutoff_factor", c.initializer_cutoff_factor);
  kModernBertConfig.read(j, "norm_eps", c.norm_eps);
  kModernBertConfig.read(j, "norm_bias", c.norm_bias);
  kModernBertConfig.read(j, "pad_token_id", c.pad_token_id);
  if (j.contains("pad_token_id") && j["pad_token_id"].is_null()) c.pad_token_id = -1;
  kModernBertConfig.read(j, "attention_bias", c.attention_bias);
  kModernBertConfig.read(j, "attention_dropout", c.attention_dropout);
  kModernBertConfig.read(j, "global_attn_every_n_layers", c.global_attn_every_n_layers);
  kModernBertConfig.read(j, "local_attention", c.local_attention);
  kModernBertConfig.read(j, "global_rope_theta", c.global_rope_theta);
  kModernBertConfig.read(j, "local_rope_theta", c.local_rope_theta);
  // HF 4.49: a null local_rope_theta means local layers use the global theta.
  if (j.contains("local_rope_theta") && j["local_rope_theta"].is_null()) c.local_rope_theta = c.global_rope_theta;
  kModernBertConfig.read(j, "embedding_dropout", c.embedding_dropout);
  kModernBertConfig.read(j, "mlp_bias", c.mlp_bias);
  kModernBertConfig.read(j, "mlp_dropout", c.mlp_dropout);
  if (const auto* scaling = find_key(j, "rope_scaling")) {
    double ignored = 0;
    read_rope(*scaling, "rope_scaling", ignored);
  }
  if (const auto* rope = find_key(j, "rope_parameters")) {
    if (rope->is_object() && (rope->contains("full_attention") || rope->contains("sliding_attention"))) {
      if (const auto* full = find_key(*rope, "full_attention"))
        read_rope(*full, "rope_parameters.full_attention", c.global_rope_theta);
      if (const auto* sliding = find_key(*rope, "sliding_attention"))
        read_rope(*sliding, "rope_parameters.sliding_attention", c.local_rope_theta);
    } else {
      read_rope(*rope, "rope_parameters", c.global_rope_theta);
      c.local_rope_theta = c.global_rope_theta;
    }
  }
  if (const auto* types = find_key(j, "layer_types")) {
    if (!types->is_array()) kModernBertConfig.fail("'layer_types' must be a list (got " + types->dump() + ")");
    for (const auto& t : *types) {
      if (!t.is_string()) kModernBertConfig.fail("'layer_types' entries must be strings (got " + t.dump() + ")");
      c.layer_types.push_back(t.get<std::string>());
    }
  }
  c.validate();
  return c;
}

void ModernBertConfig::validate() {
  auto got = [](auto v) { return " (got " + std::to_string(v) + ")"; };
  for (auto [value, key] : {std::pair{vocab_size, "vocab_size"}, {hidden_size, "hidden_size"},
                            {intermediate_size, "intermediate_size"}, {num_attention_heads, "num_attention_heads"},
                            {global_attn_every_n_layers, "global_attn_every_n_layers"}})
    if (value <= 0) kModernBertConfig.fail(std::string("'") + key + "' must be positive" + got(value));
  if (num_hidden_layers < 0) kModernBertConfig.fail("'num_hidden_layers' must be >= 0" + got(num_hidden_layers));
  if (local_attention < 0) kModernBertConfig.fail("'local_attention' must be >= 0" + got(local_attention));
  if (hidden_size % num_attention_heads != 0)
    kModernBertConfig.fail("hidden_size is not a multiple of num_attention_heads (expected a multiple of " +
                 std::to_string(num_attention_heads) + ", got " + std::to_string(hidden_size) + ")");
  if (head_dim() % 2 != 0) kModernBertConfig.fail("rotary embeddings need an even head size" + got(head_dim()));
  if (norm_eps <= 0) kModernBertConfig.fail("'norm_eps' must be positive" + got(norm_eps));
  for (auto [value, key] : {std::pair{global_rope_theta, "global_rope_theta"}, {local_rope_theta, "local_rope_theta"}})
    if (value <= 0) kModernBertConfig.fail(std::string("'") + key + "' must be positive" + got(value));
  for (auto [p, key] : {std::pair{attention_dropout, "attention_dropout"}, {embedding_dropout, "embedding_dropout"},
                        {mlp_dropout, "mlp_dropout"}})
    if (p < 0 || p >= 1) kModernBertConfig.fail(std::string("'") + key + "' must be in [0, 1)" + got(p));
  if (layer_types.empty())
    for (int64_t i = 0; i < num_hidden_layers; ++i)
      layer_types.push_back(i % global_attn_every_n_layers != 0 ? "sliding_attention" : "full_attention");
  if (static_cast<int64_t>(layer_types.size()) != num_hidden_layers)
    kModernBertConfig.fail("'layer_types' needs one entry per layer (expected " + std::to_string(num_hidden_layers) +
                 ", got " + std::to_string(layer_types.size()) + ")");
  for (const auto& t : layer_types)
    if (t != "full_attention" && t != "sliding_attention")
      kModernBertConfig.fail("unknown layer type '" + t + "' (expected full_attention or sliding_attention)");
  activation_by_name(hidden_activation, kModernBertConfig.name);
}

// ------------------------------------------------------- building blocks

ModernBertLayerNormImpl::ModernBertLayerNormImpl(int64_t size, double eps, bool bias) : size_(size), eps_(eps) {
  weight = register_parameter("weight", torch::ones({size}));
  if (bias) this->bias = register_parameter("bias", torch::zeros({size}));
}

torch::Tensor ModernBertLayerNormImpl::forward(const torch::Tensor& x) {
  return runtime::layer_norm(x, weight, bias, eps_);
}

RotaryTables rotary_tables(double theta, int64_t head_dim, int64_t length, const torch::Device& device) {
  const auto floats = torch::TensorOptions().dtype(torch::kFloat).device(device);
  auto exponent = torch::arange(0, head_dim, 2, torch::TensorOptions().dtype(torch::kLong).device(device))
                      .to(torch::kFloat) / static_cast<double>(head_dim);
  auto inv_freq = 1.0 / torch::pow(theta, exponent);                      // [d/2]
  auto angles = torch::arange(length, floats).unsqueeze(1) * inv_freq.unsqueeze(0);  // [L, d/2]
  auto emb = torch::cat({angles, angles}, -1);
  return {emb.cos(), emb.sin()};
}

// rotate_half(x) = [-x2, x1] is never built: each half gets its product in
// place (the same roundings: x*cos, then + (-x2)*sin or + x1*sin).
torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& rope) {
  const int64_t half = x.size(-1) / 2;
  auto cos = rope.cos.to(x.scalar_type()), sin = rope.sin.to(x.scalar_type());
  // At inference the result is laid out [B,H,L,d] (x is a permuted view of
  // the fused projection): each (row, head) then reads dense rows.
  torch::Tensor out;
  if (torch::GradMode::is_enabled()) {
    out = x * cos;
  } else {
    out = torch::empty(x.sizes(), x.options());
    at::mul_out(out, x, cos);
  }
  auto first = [&](const torch::Tensor& t) { return t.narrow(-1, 0, half); };
  auto second = [&](const torch::Tensor& t) { return t.narrow(-1, half, half); };
  first(out).addcmul_(second(x), first(sin), -1);
  second(out).addcmul_(first(x), second(sin));
  return out;
}

// [L,L] true where |i - j| > window; undefined for global attention (window < 0).
torch::Tensor outside_window(int64_t length, int64_t window, const torch::Device& device) {
  if (window < 0) return {};
  auto pos = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(device));
  return (pos.unsqueeze(1) - pos.unsqueeze(0)).abs().gt(window);
}

// softmax(q.k^T / sqrt(d), `blocked` masked out) v.
torch::Tensor masked_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& blocked, double dropout) {
  auto scores = attention_product(q, k.transpose(-1, -2)).mul_(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  return masked_softmax_matmul(scores, blocked, v, dropout);
}

torch::Tensor dense_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& key_valid, int64_t window, double dropout) {
  auto blocked = outside_window(q.size(-2), window, q.device());
  if (key_valid.defined()) {
    auto padded_key = key_valid.logical_not().unsqueeze(1).unsqueeze(2);  // [B,1,1,L]
    blocked = blocked.defined() ? blocked.logical_or(padded_key) : padded_key;
  }
  return masked_attention(q, k, v, blocked, dropout);
}

// Queries in blocks of `block`; block i (positions i*block ...) sees the keys
// [i*block - window, (i+1)*block + window), an unfolded view of the padded
// keys. Entries farther than `window`, padding and out-of-range keys are
// masked exactly as in the dense form.
torch::Tensor banded_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& key_valid, int64_t window, double dropout) {
  const int64_t batch = q.size(0), length = q.size(2), dim = q.size(3);
  const int64_t block = std::max<int64_t>(window, 16);  // band_block's, wherever the form pays
  const int64_t blocks = (length + block - 1) / block, span = block + 2 * window;
  const int64_t tail = blocks * block - length;
  namespace F = torch::nn::functional;
  auto pad_seq = [&](const torch::Tensor& t, int64_t before, int64_t after) {
    return F::pad(t, F::PadFuncOptions({0, 0, before, after}));  // [B,H,L,d] along L
  };
  auto q_blocks = pad_seq(q, 0, tail).view({batch, q.size(1), blocks, block, dim});
  auto k_windows = pad_seq(k, window, tail + window).unfold(2, span, block);  // [B,H,n,d,S]
  auto v_windows = pad_seq(v, window, tail + window).unfold(2, span, block).transpose(-1, -2);
  auto scores = torch::matmul(q_blocks, k_windows) * (1.0 / std::sqrt(static_cast<double>(dim)));

  // Key c of a block sits at offset c - window - r from query r of the block.
  const auto longs = q.options().dtype(torch::kLong);
  auto offset = torch::arange(span, longs).unsqueeze(0) - window - torch::arange(block, longs).unsqueeze(1);
  auto far = offset.abs().gt(window);  // [b,S]
  auto real = key_valid.defined() ? key_valid.to(torch::kBool)
                                  : torch::ones({batch, length}, q.options().dtype(torch::kBool));
  auto key_ok = F::pad(real.to(torch::kUInt8), F::PadFuncOptions({window, tail + window})).to(torch::kBool);
  auto key_out = key_ok.unfold(1, span, block).logical_not().unsqueeze(1).unsqueeze(3);  // [B,1,n,1,S]
  auto out = masked_softmax_matmul(scores, key_out.logical_or(far), v_windows, dropout);  // [B,H,n,b,d]
  return out.reshape({batch, q.size(1), blocks * block, dim}).narrow(2, 0, length);
}

int64_t band_block(int64_t length, int64_t window) {
  const int64_t block = std::max<int64_t>(window, 16);
  return window >= 0 && length >= 2 * (block + 2 * window) ? block : 0;
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_valid, int64_t window, double dropout) {
  return band_block(q.size(2), window) > 0 ? banded_attention(q, k, v, key_valid, window, dropout)
                                           : dense_attention(q, k, v, key_valid, window, dropout);
}

// ------------------------------------------------------------- modules

ModernBertEmbeddingsImpl::ModernBertEmbeddingsImpl(const ModernBertConfig& config)
    : dropout_(config.embedding_dropout) {
  auto options = torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size);
  if (config.pad_token_id >= 0 && config.pad_token_id < config.vocab_size) options.padding_idx(config.pad_token_id);
  tok_embeddings = register_module("tok_embeddings", torch::nn::Embedding(options));
  norm = register_module("norm", ModernBertLayerNorm(config.hidden_size, config.norm_eps, config.norm_bias));
}

torch::Tensor ModernBertEmbeddingsImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& inputs_embeds) {
  auto x = inputs_embeds.defined() ? inputs_embeds : tok_embeddings(input_ids);
  return train_dropout(norm(x), dropout_, is_training());
}

ModernBertMLPImpl::ModernBertMLPImpl(const ModernBertConfig& config)
    : act_(activation_by_name(config.hidden_activation, kModernBertConfig.name)),
      erf_gelu_(config.hidden_activation == "gelu"),
      dropout_(config.mlp_dropout) {
  Wi = register_module("Wi", runtime::Linear(torch::nn::LinearOptions(config.hidden_size, 2 * config.intermediate_size)
                                                   .bias(config.mlp_bias)));
  Wo = register_module("Wo", runtime::Linear(torch::nn::LinearOptions(config.intermediate_size, config.hidden_size)
                                                   .bias(config.mlp_bias)));
}

torch::Tensor ModernBertMLPImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  auto h = Wi(x);
  torch::Tensor gated;
  if (erf_gelu_ && !is_training() && !torch::GradMode::is_enabled() && h.scalar_type() == torch::kFloat && h.device().is_cpu()) {
    auto sizes = h.sizes().vec();
    sizes.back() /= 2;
    gated = runtime::geglu(h.reshape({-1, h.size(-1)})).view(sizes);  // no dropout: not training
  } else {
    auto parts = h.chunk(2, -1);
    gated = train_dropout(act_(parts[0]) * parts[1], dropout_, is_training());
  }
  return linear_plus_residual(*Wo, gated, residual, /*dropout=*/0.0, is_training());  // HF: no dropout after Wo
}

ModernBertAttentionImpl::ModernBertAttentionImpl(const ModernBertConfig& config, int64_t layer_id)
    : shape_{config.num_attention_heads, config.head_dim(),
             config.is_local_layer(layer_id) ? config.local_attention / 2 : -1},
      dropout_(config.attention_dropout) {
  const auto d = config.hidden_size;
  Wqkv = register_module("Wqkv", runtime::Linear(torch::nn::LinearOptions(d, 3 * d).bias(config.attention_bias)));
  Wo = register_module("Wo", runtime::Linear(torch::nn::LinearOptions(d, d).bias(config.attention_bias)));
}

torch::Tensor ModernBertAttentionImpl::forward(const torch::Tensor& x, const ModernBertBatch& batch,
                                               const torch::Tensor& residual) {
  const int64_t b = batch.batch, length = batch.length, width = shape_.heads * shape_.head_dim;
  auto qkv = Wqkv(x);
  if (!batch.lengths.empty() && qkv.scalar_type() == torch::kFloat) {
    // With bf16 or int8 linear layers the products run in bf16 too.
    const bool bf16 = Wqkv->dtype() != DType::kFloat32 && runtime::OneDnnMatmul::optimised(DType::kBFloat16);
    auto out = attention_rows(qkv, batch, shape_, bf16);
    if (!batch.queries) {
      auto sizes = x.sizes().vec();
      sizes.back() = width;
      out = out.view(sizes);
    }
    return linear_plus_residual(*Wo, out, computed_rows(batch.queries, residual), dropout_, is_training());
  }
  if (batch.indices.defined())
    qkv = torch::zeros({b * length, 3 * width}, qkv.options()).index_copy(0, batch.indices, qkv);
  // HF's layout: [B, L, 3, H, d] -> q, k, v as [B, H, L, d].
  auto parts = qkv.view({b, length, 3, shape_.heads, shape_.head_dim}).permute({2, 0, 3, 1, 4});
  const auto& rope = shape_.window < 0 ? batch.global_rope : batch.local_rope;
  auto q = apply_rotary(parts[0], rope), k = apply_rotary(parts[1], rope);
  auto out = attention(q, k, parts[2], batch.key_valid, shape_.window, is_training() ? dropout_ : 0.0);
  out = out.transpose(1, 2).reshape({b, length, width});
  if (batch.indices.defined()) out = out.view({b * length, width}).index_select(0, batch.indices);
  return linear_plus_residual(*Wo, computed_rows(batch.queries, out), computed_rows(batch.queries, residual), dropout_, is_training());
}

ModernBertEncoderLayerImpl::ModernBertEncoderLayerImpl(const ModernBertConfig& config, int64_t layer_id) {
  if (layer_id > 0)
    attn_norm = register_module("attn_norm", ModernBertLayerNorm(config.hidden_size, config.norm_eps, config.norm_bias));
  attn = register_module("attn", ModernBertAttention(config, layer_id));
  mlp_norm = register_module("mlp_norm", ModernBertLayerNorm(config.hidden_size, config.norm_eps, config.norm_bias));
  mlp = register_module("mlp", ModernBertMLP(config));
}

torch::Tensor ModernBertEncoderLayerImpl::forward(const torch::Tensor& x, const ModernBertBatch& batch) {
  auto h = attn(attn_norm ? attn_norm(x) : x, batch, x);
  return runtime::by_row_blocks(h, [this](const torch::Tensor& rows) { return mlp(mlp_norm(rows), rows); });
}

// ----------------------------------------------------------------- model

ModernBertModelImpl::ModernBertModelImpl(ModernBertConfig config) : config_(std::move(config)) {
  config_.validate();
  embeddings = register_module("embeddings", ModernBertEmbeddings(config_));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    layers_.push_back(ModernBertEncoderLayer(config_, i));
    layers->push_back(layers_.back());
  }
  final_norm = register_module("final_norm", ModernBertLayerNorm(config_.hidden_size, config_.norm_eps, config_.norm_bias));

  // HF stds: "in" = initializer_range, "out" = that / sqrt(2 * layers).
  torch::NoGradGuard no_grad;
  const double in = config_.initializer_range, cutoff = config_.initializer_cutoff_factor;
  const double out = in / std::sqrt(2.0 * std::max<int64_t>(config_.num_hidden_layers, 1));
  trunc_normal(embeddings->tok_embeddings->weight, in, cutoff);
  for (auto& layer : layers_) {
    init_linear(layer->attn->Wqkv, in, cutoff);
    init_linear(layer->attn->Wo, out, cutoff);
    init_linear(layer->mlp->Wi, in, cutoff);
    init_linear(layer->mlp->Wo, out, cutoff);
  }
}

torch::Tensor ModernBertModelImpl::embed_tokens(const torch::Tensor& input_ids) {
  return embeddings->tok_embeddings(input_ids);
}

namespace {

// Shapes, id ranges and right padding of one call; InputError names the tensor.
void check_input(const EncoderInput& in, const ModernBertConfig& config) {
  const bool has_ids = in.input_ids.defined(), has_embeds = in.inputs_embeds.defined();
  if (has_ids == has_embeds)
    throw InputError(std::string("modernbert: give exactly one of input_ids and inputs_embeds (got ") +
                     (has_ids ? "both" : "neither") + ")");
  const auto& ref = has_ids ? in.input_ids : in.inputs_embeds;
  if (ref.dim() != (has_ids ? 2 : 3) || (has_embeds && ref.size(2) != config.hidden_size))
    throw InputError(std::string("modernbert: ") +
                     (has_ids ? "input_ids must be [batch, length]"
                              : "inputs_embeds must be [batch, length, " + std::to_string(config.hidden_size) + "]") +
                     " (got " + c10::str(ref.sizes()) + ")");
  if (ref.size(1) == 0) throw InputError("modernbert: empty sequence (expected length >= 1)");
  if (has_ids) {
    auto bad = in.input_ids.lt(0) | in.input_ids.ge(config.vocab_size);
    if (bad.any().item<bool>())
      throw InputError("modernbert: input_ids value out of range (expected 0.." + std::to_string(config.vocab_size - 1) +
                       ", got " + std::to_string(in.input_ids.masked_select(bad)[0].item<int64_t>()) + ")");
  }
  const auto& mask = in.attention_mask;
  if (!mask.defined()) return;
  if (mask.dim() != 2 || mask.size(0) != ref.size(0) || mask.size(1) != ref.size(1))
    throw InputError("modernbert: attention_mask must be [" + std::to_string(ref.size(0)) + ", " +
                     std::to_string(ref.size(1)) + "] (got " + c10::str(mask.sizes()) + ")");
  auto real = mask.ne(0);
  if (real.size(1) > 1 && real.narrow(1, 1, real.size(1) - 1).gt(real.narrow(1, 0, real.size(1) - 1)).any().item<bool>())
    throw InputError("modernbert: attention_mask must be right-padded (expected 1...1 0...0 per row, got a 0 before a 1)");
}

}  // namespace

EncoderOutput ModernBertModelImpl::forward(const EncoderInput& in) {
  check_input(in, config_);
  const auto& ref = in.input_ids.defined() ? in.input_ids : in.inputs_embeds;
  ModernBertBatch batch;
  batch.batch = ref.size(0);
  batch.length = ref.size(1);
  const int64_t b = batch.batch, length = batch.length, d = config_.hidden_size;
  const bool padded = in.attention_mask.defined() && !in.attention_mask.ne(0).all().item<bool>();
  if (padded) batch.key_valid = in.attention_mask.ne(0);
  if (!is_training() && !torch::GradMode::is_enabled()) {
    batch.lengths.assign(static_cast<size_t>(b), length);
    if (padded) {
      auto lengths = batch.key_valid.sum(1).to(torch::kCPU);
      batch.lengths.assign(lengths.data_ptr<int64_t>(), lengths.data_ptr<int64_t>() + b);
    }
  }

  torch::Tensor x;
  if (padded && config_.unpad_padding) {
    batch.indices = torch::nonzero(batch.key_valid.flatten()).flatten();
    x = in.input_ids.defined()
            ? embeddings(in.input_ids.flatten().index_select(0, batch.indices), torch::Tensor())
            : embeddings(torch::Tensor(), in.inputs_embeds.reshape({b * length, d}).index_select(0, batch.indices));
  } else {
    x = embeddings(in.input_ids, in.inputs_embeds);
  }
  // RoPE tables once per forward, shared by the layers of each kind.
  const auto device = x.device();
  batch.global_rope = rotary_tables(config_.global_rope_theta, config_.head_dim(), length, device);
  batch.local_rope = config_.local_rope_theta == config_.global_rope_theta
                         ? batch.global_rope
                         : rotary_tables(config_.local_rope_theta, config_.head_dim(), length, device);

  // Back to [B,L,D] with zeros at padded positions.
  auto repad = [&](const torch::Tensor& t) {
    if (batch.indices.defined())
      return torch::zeros({b * length, d}, t.options()).index_copy(0, batch.indices, t).view({b, length, d});
    if (padded) return t.masked_fill(batch.key_valid.logical_not().unsqueeze(2), 0.0);
    return t;
  };
  EncoderOutput out;
  if (in.output_hidden_states) out.hidden_states.push_back(repad(x));
  // The last layer at the read positions alone; row b's tokens start at
  // starts[b] of the packed [T] or the padded [B*L].
  std::optional<ReadRows> last_queries;
  if (!layers_.empty() && !batch.lengths.empty() && in.read_positions.defined() && !in.output_hidden_states) {
    std::vector<int64_t> starts;
    for (int64_t row = 0, next = 0; row < b; next += batch.lengths[static_cast<size_t>(row)], ++row)
      starts.push_back(batch.indices.defined() ? next : row * length);
    last_queries = read_rows(in.read_positions, batch.lengths, starts);
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (i + 1 == layers_.size()) batch.queries = std::move(last_queries);
    x = layers_[i]->forward(x, batch);
    if (in.output_hidden_states) out.hidden_states.push_back(repad(x));
  }
  if (batch.queries) {
    auto rows = batch.queries->index.to(device);
    if (batch.indices.defined()) rows = batch.indices.index_select(0, rows);
    out.last_hidden_state =
        torch::zeros({b * length, d}, x.options()).index_copy(0, rows, final_norm(x)).view({b, length, d});
    return out;
  }
  out.last_hidden_state = repad(final_norm(x));
  return out;
}

}  // namespace gliclass::encoders
