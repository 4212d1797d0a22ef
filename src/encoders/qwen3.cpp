// Qwen3 with the arithmetic of Hugging Face transformers 4.52 (eager
// attention); see qwen3.h.
#include "encoders/qwen3.h"

#include <cmath>
#include <limits>

#include "encoders/common.h"
#include "gliclass/error.h"

namespace gliclass::encoders {
namespace {

const ConfigComponent kQwen3Config{"qwen3 config"};

// x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1] (halves of the
// last dimension); x [T,H,d], cos/sin [T,d].
torch::Tensor apply_rotary(const torch::Tensor& x, const Rotation& rot) {
  const int64_t half = x.size(-1) / 2;
  auto rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * rot.cos.unsqueeze(1) + rotated * rot.sin.unsqueeze(1);
}

}  // namespace

// ---------------------------------------------------------------- config

Qwen3Config Qwen3Config::from_json(const nlohmann::json& j) {
  kQwen3Config.expect_object(j);
  Qwen3Config c;
  kQwen3Config.read(j, "vocab_size", c.vocab_size);
  kQwen3Config.read(j, "hidden_size", c.hidden_size);
  kQwen3Config.read(j, "intermediate_size", c.intermediate_size);
  kQwen3Config.read(j, "num_hidden_layers", c.num_hidden_layers);
  kQwen3Config.read(j, "num_attention_heads", c.num_attention_heads);
  c.num_key_value_heads = c.num_attention_heads;
  kQwen3Config.read(j, "num_key_value_heads", c.num_key_value_heads);
  c.head_dim = c.num_attention_heads > 0 ? c.hidden_size / c.num_attention_heads : 0;
  kQwen3Config.read(j, "head_dim", c.head_dim);
  kQwen3Config.read(j, "hidden_act", c.hidden_act);
  kQwen3Config.read(j, "max_position_embeddings", c.max_position_embeddings);
  kQwen3Config.read(j, "initializer_range", c.initializer_range);
  kQwen3Config.read(j, "rms_norm_eps", c.rms_norm_eps);
  kQwen3Config.read(j, "rope_theta", c.rope_theta);
  kQwen3Config.read(j, "attention_bias", c.attention_bias);
  kQwen3Config.read(j, "attention_dropout", c.attention_dropout);
  kQwen3Config.read(j, "use_sliding_window", c.use_sliding_window);
  if (const auto* scaling = find_key(j, "rope_scaling"))
    kQwen3Config.fail("rope_scaling is not supported (expected null, got " + scaling->dump() + ")");
  c.validate();
  return c;
}

void Qwen3Config::validate() const {
  auto positive = [](int64_t v, const char* key) {
    if (v <= 0) kQwen3Config.fail(std::string("'") + key + "' must be positive (got " + std::to_string(v) + ")");
  };
  positive(vocab_size, "vocab_size");
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_hidden_layers, "num_hidden_layers");
  positive(num_attention_heads, "num_attention_heads");
  positive(num_key_value_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  if (num_attention_heads % num_key_value_heads != 0)
    kQwen3Config.fail("num_attention_heads (" + std::to_string(num_attention_heads) +
                                 ") is not a multiple of num_key_value_heads (" +
                                 std::to_string(num_key_value_heads) + ")");
  if (head_dim % 2 != 0) kQwen3Config.fail("head_dim must be even for rotary positions (got " + std::to_string(head_dim) + ")");
  if (rope_theta <= 0) kQwen3Config.fail("'rope_theta' must be positive");
  if (use_sliding_window) kQwen3Config.fail("use_sliding_window=true is not supported");
  activation_by_name(hidden_act, kQwen3Config.name);
}

// ---------------------------------------------------------------- cache

void Qwen3KVCache::keep_last(int64_t n) {
  const int64_t len = length();
  if (n >= len) return;
  for (auto* list : {&keys, &values})
    for (auto& t : *list) t = t.narrow(1, len - n, n).contiguous();
}

// ---------------------------------------------------------------- modules

Qwen3RMSNormImpl::Qwen3RMSNormImpl(int64_t size, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({size}));
}

torch::Tensor Qwen3RMSNormImpl::forward(const torch::Tensor& x) {
  auto h = x.to(torch::kFloat);
  h = h * torch::rsqrt(h.pow(2).mean(-1, true) + eps_);
  return weight * h.to(x.scalar_type());
}

Qwen3AttentionImpl::Qwen3AttentionImpl(const Qwen3Config& c, int64_t layer)
    : layer_(layer),
      heads_(c.num_attention_heads),
      kv_heads_(c.num_key_value_heads),
      head_dim_(c.head_dim),
      scaling_(1.0 / std::sqrt(static_cast<double>(c.head_dim))),
      dropout_(c.attention_dropout) {
  auto linear = [&](int64_t in, int64_t out) {
    return runtime::Linear(torch::nn::LinearOptions(in, out).bias(c.attention_bias));
  };
  q_proj = register_module("q_proj", linear(c.hidden_size, heads_ * head_dim_));
  k_proj = register_module("k_proj", linear(c.hidden_size, kv_heads_ * head_dim_));
  v_proj = register_module("v_proj", linear(c.hidden_size, kv_heads_ * head_dim_));
  o_proj = register_module("o_proj", linear(heads_ * head_dim_, c.hidden_size));
  q_norm = register_module("q_norm", Qwen3RMSNorm(head_dim_, c.rms_norm_eps));
  k_norm = register_module("k_norm", Qwen3RMSNorm(head_dim_, c.rms_norm_eps));
}

torch::Tensor Qwen3AttentionImpl::forward(const torch::Tensor& x, const Rotation& rot, const PackedRows& rows) {
  const int64_t tokens = x.size(0);
  auto q = apply_rotary(q_norm(q_proj(x).view({tokens, heads_, head_dim_})), rot);
  auto k = apply_rotary(k_norm(k_proj(x).view({tokens, kv_heads_, head_dim_})), rot);
  auto v = v_proj(x).view({tokens, kv_heads_, head_dim_});
  const int64_t groups = heads_ / kv_heads_;
  std::vector<torch::Tensor> contexts;
  contexts.reserve(rows.lengths.size());
  for (size_t b = 0; b < rows.lengths.size(); ++b) {
    const int64_t n = rows.lengths[b];
    if (n == 0) continue;
    auto qb = q.narrow(0, rows.offsets[b], n).permute({1, 0, 2});  // [H,n,d]
    auto kb = k.narrow(0, rows.offsets[b], n).permute({1, 0, 2});  // [Hkv,n,d]
    auto vb = v.narrow(0, rows.offsets[b], n).permute({1, 0, 2});
    Qwen3KVCache* past = rows.past.empty() ? nullptr : rows.past[b];
    if (past && past->keys.size() > static_cast<size_t>(layer_) && past->keys[layer_].defined()) {
      kb = torch::cat({past->keys[layer_], kb}, 1);
      vb = torch::cat({past->values[layer_], vb}, 1);
    }
    if (past && rows.append) {
      if (past->keys.size() <= static_cast<size_t>(layer_)) {
        past->keys.resize(layer_ + 1);
        past->values.resize(layer_ + 1);
      }
      past->keys[layer_] = kb.contiguous();
      past->values[layer_] = vb.contiguous();
    }
    const int64_t cached = kb.size(1) - n;
    // HF repeat_kv: key/value head h serves query heads h*groups .. h*groups+groups-1.
    auto keys = groups > 1 ? kb.repeat_interleave(groups, 0) : kb;
    auto values = groups > 1 ? vb.repeat_interleave(groups, 0) : vb;
    auto scores = torch::matmul(qb, keys.transpose(1, 2)) * scaling_;  // [H,n,cached+n]
    if (n > 1) {  // causal: new token i sees the cache and new tokens 0..i
      auto future = torch::ones({n, cached + n}, torch::dtype(torch::kBool).device(x.device())).triu(cached + 1);
      scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
    }
    auto probs = torch::softmax(scores, -1, torch::kFloat).to(q.scalar_type());
    probs = train_dropout(probs, dropout_, is_training());
    contexts.push_back(torch::matmul(probs, values).permute({1, 0, 2}).reshape({n, heads_ * head_dim_}));
  }
  if (contexts.empty()) return o_proj(x.new_zeros({0, heads_ * head_dim_}));
  return o_proj(torch::cat(contexts, 0));
}

Qwen3MLPImpl::Qwen3MLPImpl(const Qwen3Config& c) : act_(activation_by_name(c.hidden_act, kQwen3Config.name)) {
  auto linear = [](int64_t in, int64_t out) { return runtime::Linear(torch::nn::LinearOptions(in, out).bias(false)); };
  gate_proj = register_module("gate_proj", linear(c.hidden_size, c.intermediate_size));
  up_proj = register_module("up_proj", linear(c.hidden_size, c.intermediate_size));
  down_proj = register_module("down_proj", linear(c.intermediate_size, c.hidden_size));
}

torch::Tensor Qwen3MLPImpl::forward(const torch::Tensor& x) { return down_proj(act_(gate_proj(x)) * up_proj(x)); }

Qwen3DecoderLayerImpl::Qwen3DecoderLayerImpl(const Qwen3Config& c, int64_t layer) {
  self_attn = register_module("self_attn", Qwen3Attention(c, layer));
  mlp = register_module("mlp", Qwen3MLP(c));
  input_layernorm = register_module("input_layernorm", Qwen3RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", Qwen3RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor Qwen3DecoderLayerImpl::forward(const torch::Tensor& x, const Rotation& rot, const PackedRows& rows) {
  auto h = x + self_attn(input_layernorm(x), rot, rows);
  return h + mlp(post_attention_layernorm(h));
}

// ---------------------------------------------------------------- model

Qwen3ModelImpl::Qwen3ModelImpl(const Qwen3Config& config) : config_(config) {
  config_.validate();
  embed_tokens_ = register_module("embed_tokens", torch::nn::Embedding(config_.vocab_size, config_.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    layers_.push_back(Qwen3DecoderLayer(config_, i));
    layers->push_back(layers_.back());
  }
  norm = register_module("norm", Qwen3RMSNorm(config_.hidden_size, config_.rms_norm_eps));
  // HF's default rope: inv_freq = 1 / theta^(arange(0, d, 2) / d), float32.
  inv_freq_ = 1.0 / torch::pow(torch::tensor(config_.rope_theta, torch::kDouble),
                               torch::arange(0, config_.head_dim, 2, torch::kLong).to(torch::kFloat) /
                                   static_cast<double>(config_.head_dim)).to(torch::kFloat);
  init_normal_weights(*this, config_.initializer_range);
}

Rotation Qwen3ModelImpl::rotation(const std::vector<int64_t>& positions, torch::Device device) const {
  auto pos = torch::tensor(positions, torch::kLong).to(torch::kFloat);
  auto freqs = pos.unsqueeze(1) * inv_freq_.unsqueeze(0);  // [T, d/2]
  auto emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos().to(device), emb.sin().to(device)};
}

torch::Tensor Qwen3ModelImpl::embed_tokens(const torch::Tensor& input_ids) { return embed_tokens_(input_ids); }

std::vector<torch::Tensor> Qwen3ModelImpl::run_layers(const torch::Tensor& ids, const std::vector<int64_t>& positions,
                                                      const PackedRows& rows, bool keep_all) {
  std::vector<torch::Tensor> states;
  auto h = embed_tokens_(ids);
  const Rotation rot = rotation(positions, h.device());
  for (auto& layer : layers_) {
    if (keep_all) states.push_back(h);
    h = layer(h, rot, rows);
  }
  states.push_back(norm(h));
  return states;
}

namespace {

// The real tokens of a step, flattened: their positions in [B*L], their
// absolute positions, and where each row's run starts.
struct Packing {
  torch::Tensor index;
  std::vector<int64_t> positions;
  PackedRows rows;
};

Packing pack_rows(const Qwen3Step& step) {
  const int64_t batch = step.input_ids.size(0), width = step.input_ids.size(1);
  if (static_cast<int64_t>(step.lengths.size()) != batch || static_cast<int64_t>(step.start_positions.size()) != batch ||
      (!step.past.empty() && static_cast<int64_t>(step.past.size()) != batch))
    throw ModelError("qwen3: a step needs one length, start position (and cache) per row (got " +
                     std::to_string(batch) + " rows)");
  Packing p;
  p.rows.past = step.past;
  p.rows.append = step.append;
  std::vector<int64_t> flat;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t n = step.lengths[b];
    if (n < 0 || n > width)
      throw ModelError("qwen3: row length " + std::to_string(n) + " outside [0, " + std::to_string(width) + "]");
    p.rows.offsets.push_back(static_cast<int64_t>(flat.size()));
    p.rows.lengths.push_back(n);
    for (int64_t t = 0; t < n; ++t) {
      flat.push_back(b * width + t);
      p.positions.push_back(step.start_positions[b] + t);
    }
  }
  p.index = torch::tensor(flat, torch::kLong).to(step.input_ids.device());
  return p;
}

// packed [T,D] -> [B,L,D], zero at padded positions.
torch::Tensor unpack(const torch::Tensor& packed, const torch::Tensor& index, int64_t batch, int64_t width) {
  const int64_t dim = packed.size(-1);
  return torch::zeros({batch * width, dim}, packed.options()).index_copy(0, index, packed).view({batch, width, dim});
}

}  // namespace

torch::Tensor Qwen3ModelImpl::forward_step(const Qwen3Step& step) {
  const int64_t batch = step.input_ids.size(0), width = step.input_ids.size(1);
  Packing p = pack_rows(step);
  if (p.positions.empty())
    return torch::zeros({batch, width, config_.hidden_size}, embed_tokens_->weight.options());
  auto ids = step.input_ids.reshape({-1}).index_select(0, p.index);
  return unpack(run_layers(ids, p.positions, p.rows, false).back(), p.index, batch, width);
}

EncoderOutput Qwen3ModelImpl::forward(const EncoderInput& input) {
  if (!input.input_ids.defined()) throw ModelError("qwen3: input_ids are required (inputs_embeds is not supported)");
  const int64_t batch = input.input_ids.size(0), width = input.input_ids.size(1);
  auto lengths = input.attention_mask.defined() ? input.attention_mask.sum(1).to(torch::kCPU)
                                                : torch::full({batch}, width, torch::kLong);
  Qwen3Step step;
  step.input_ids = input.input_ids;
  for (int64_t b = 0; b < batch; ++b) step.lengths.push_back(lengths[b].item<int64_t>());
  step.start_positions.assign(batch, 0);
  EncoderOutput out;
  if (!input.output_hidden_states) {
    out.last_hidden_state = forward_step(step);
    return out;
  }
  Packing p = pack_rows(step);
  auto ids = input.input_ids.reshape({-1}).index_select(0, p.index);
  for (const auto& packed : run_layers(ids, p.positions, p.rows, true))
    out.hidden_states.push_back(unpack(packed, p.index, batch, width));
  out.last_hidden_state = out.hidden_states.back();
  return out;
}

}  // namespace gliclass::encoders
