// DeBERTa-v2 / v3 (disentangled attention, He et al. 2021), with the
// arithmetic of Hugging Face transformers 4.49, so outputs agree to float32
// rounding (the goldens: <= 1.3e-5, the same as an fp64 run differs by).
#include "encoders/deberta_v2.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

#include "encoders/common.h"
#include "encoders/deberta_v2_rows.h"
#include "gliclass/error.h"
#include "runtime/onednn_matmul.h"
#include "runtime/row_blocks.h"

namespace gliclass::encoders {
namespace {

const ConfigComponent kDebertaV2Config{"deberta-v2 config"};

std::string trimmed_lower(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "p2c|c2p" (HF's legacy form) or ["p2c", "c2p"].
void read_list(const nlohmann::json& j, const char* key, std::vector<std::string>& out) {
  const auto* v = find_key(j, key);
  if (!v) return;
  out.clear();
  if (v->is_string()) {
    std::stringstream parts(v->get<std::string>());
    for (std::string item; std::getline(parts, item, '|');)
      if (!(item = trimmed_lower(item)).empty()) out.push_back(item);
  } else if (v->is_array()) {
    for (const auto& item : *v) {
      if (!item.is_string())
        kDebertaV2Config.fail(std::string("'") + key + "' entries must be strings (got " + item.dump() + ")");
      out.push_back(trimmed_lower(item.get<std::string>()));
    }
  } else {
    kDebertaV2Config.fail(std::string("'") + key + "' must be a list or a '|'-separated string (got " + v->dump() + ")");
  }
}

bool contains(const std::vector<std::string>& v, const char* s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

runtime::LayerNorm layer_norm(const DebertaV2Config& config) {
  return runtime::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

}  // namespace

// ---------------------------------------------------------------- config

DebertaV2Config DebertaV2Config::from_json(const nlohmann::json& j) {
  kDebertaV2Config.expect_object(j);
  DebertaV2Config c;
  kDebertaV2Config.read(j, "vocab_size", c.vocab_size);
  kDebertaV2Config.read(j, "hidden_size", c.hidden_size);
  kDebertaV2Config.read(j, "num_hidden_layers", c.num_hidden_layers);
  kDebertaV2Config.read(j, "num_attention_heads", c.num_attention_heads);
  kDebertaV2Config.read(j, "intermediate_size", c.intermediate_size);
  kDebertaV2Config.read(j, "hidden_act", c.hidden_act);
  kDebertaV2Config.read(j, "hidden_dropout_prob", c.hidden_dropout_prob);
  kDebertaV2Config.read(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  kDebertaV2Config.read(j, "max_position_embeddings", c.max_position_embeddings);
  kDebertaV2Config.read(j, "type_vocab_size", c.type_vocab_size);
  kDebertaV2Config.read(j, "initializer_range", c.initializer_range);
  kDebertaV2Config.read(j, "layer_norm_eps", c.layer_norm_eps);
  kDebertaV2Config.read(j, "relative_attention", c.relative_attention);
  kDebertaV2Config.read(j, "max_relative_positions", c.max_relative_positions);
  kDebertaV2Config.read(j, "pad_token_id", c.pad_token_id);
  if (j.contains("pad_token_id") && j["pad_token_id"].is_null()) c.pad_token_id = -1;  // no padding row
  kDebertaV2Config.read(j, "position_biased_input", c.position_biased_input);
  read_list(j, "pos_att_type", c.pos_att_type);
  kDebertaV2Config.read(j, "position_buckets", c.position_buckets);
  kDebertaV2Config.read(j, "share_att_key", c.share_att_key);
  read_list(j, "norm_rel_ebd", c.norm_rel_ebd);
  kDebertaV2Config.read(j, "embedding_size", c.embedding_size);
  kDebertaV2Config.read(j, "attention_head_size", c.attention_head_size);
  kDebertaV2Config.read(j, "conv_kernel_size", c.conv_kernel_size);
  kDebertaV2Config.read(j, "conv_groups", c.conv_groups);
  kDebertaV2Config.read(j, "conv_act", c.conv_act);
  c.validate();
  return c;
}

void DebertaV2Config::validate() const {
  auto got = [](auto v) { return " (got " + std::to_string(v) + ")"; };
  for (auto [value, key] : {std::pair{vocab_size, "vocab_size"}, {hidden_size, "hidden_size"},
                            {num_attention_heads, "num_attention_heads"}, {intermediate_size, "intermediate_size"},
                            {max_position_embeddings, "max_position_embeddings"}})
    if (value <= 0) kDebertaV2Config.fail(std::string("'") + key + "' must be positive" + got(value));
  for (auto [value, key] : {std::pair{num_hidden_layers, "num_hidden_layers"}, {type_vocab_size, "type_vocab_size"},
                            {embedding_size, "embedding_size"}, {attention_head_size, "attention_head_size"}})
    if (value < 0) kDebertaV2Config.fail(std::string("'") + key + "' must be >= 0" + got(value));
  if (attention_head_size == 0 && hidden_size % num_attention_heads != 0)
    kDebertaV2Config.fail("hidden_size is not a multiple of num_attention_heads (expected a multiple of " +
                 std::to_string(num_attention_heads) + ", got " + std::to_string(hidden_size) + ")");
  // HF's attention output projection is hidden x hidden: the heads must tile hidden_size.
  if (attention_head_size > 0 && attention_head_size * num_attention_heads != hidden_size)
    kDebertaV2Config.fail("attention_head_size * num_attention_heads must equal hidden_size (expected " +
                 std::to_string(hidden_size) + ", got " + std::to_string(attention_head_size * num_attention_heads) + ")");
  if (layer_norm_eps <= 0) kDebertaV2Config.fail("'layer_norm_eps' must be positive" + got(layer_norm_eps));
  for (double p : {hidden_dropout_prob, attention_probs_dropout_prob})
    if (p < 0 || p >= 1) kDebertaV2Config.fail("dropout probabilities must be in [0, 1)" + got(p));
  for (const auto& t : pos_att_type)
    if (t != "c2p" && t != "p2c") kDebertaV2Config.fail("unknown pos_att_type entry '" + t + "' (expected c2p or p2c)");
  for (const auto& t : norm_rel_ebd)
    if (t != "layer_norm" && t != "none")
      kDebertaV2Config.fail("unknown norm_rel_ebd entry '" + t + "' (expected layer_norm or none)");
  // make_log_bucket_position divides by log((max_relative_positions - 1) / (buckets / 2)).
  if (relative_attention && position_buckets > 0 &&
      (position_buckets < 2 || resolved_max_relative_positions() - 1 <= position_buckets / 2))
    kDebertaV2Config.fail("position_buckets needs max_relative_positions - 1 > position_buckets / 2 (got buckets " +
                 std::to_string(position_buckets) + ", max_relative_positions " +
                 std::to_string(resolved_max_relative_positions()) + ")");
  if (conv_kernel_size > 0) {
    if (conv_kernel_size % 2 == 0) kDebertaV2Config.fail("'conv_kernel_size' must be odd" + got(conv_kernel_size));
    if (conv_groups <= 0 || hidden_size % conv_groups != 0)
      kDebertaV2Config.fail("hidden_size is not a multiple of conv_groups (expected a multiple of " +
                   std::to_string(conv_groups) + ", got " + std::to_string(hidden_size) + ")");
    activation_by_name(conv_act, kDebertaV2Config.name);
  }
  activation_by_name(hidden_act, kDebertaV2Config.name);
}

int64_t DebertaV2Config::head_size() const {
  return attention_head_size > 0 ? attention_head_size : hidden_size / num_attention_heads;
}
int64_t DebertaV2Config::word_embedding_size() const {
  return embedding_size > 0 ? embedding_size : hidden_size;
}
int64_t DebertaV2Config::resolved_max_relative_positions() const {
  return max_relative_positions < 1 ? max_position_embeddings : max_relative_positions;
}
int64_t DebertaV2Config::relative_span() const {
  return position_buckets > 0 ? position_buckets : resolved_max_relative_positions();
}
bool DebertaV2Config::has_c2p() const { return contains(pos_att_type, "c2p"); }
bool DebertaV2Config::has_p2c() const { return contains(pos_att_type, "p2c"); }
bool DebertaV2Config::layer_norm_rel_embeddings() const { return contains(norm_rel_ebd, "layer_norm"); }

// ---------------------------------------------------- relative positions

RelativePositions build_relative_positions(const DebertaV2Config& config, int64_t length,
                                           const torch::Device& device, bool with_index) {
  // Column m of the wide scores stands for delta = L-1-m: L-1 down to -(L-1).
  auto delta = torch::arange(length - 1, -length, -1, torch::kLong);
  torch::Tensor bucket = delta;
  if (config.position_buckets > 0) {
    // HF make_log_bucket_position, same float32 ops: |d| <= mid stays d,
    // beyond it sign(d) * (ceil(log(|d|/mid) / log((max-1)/mid) * (mid-1)) + mid).
    int64_t mid = config.position_buckets / 2;
    auto sign = torch::sign(delta);
    auto abs_pos = torch::where((delta < mid).logical_and(delta > -mid),
                                torch::full({}, mid - 1, torch::kLong), torch::abs(delta));
    auto log_base = torch::log(torch::tensor(
        static_cast<double>(config.resolved_max_relative_positions() - 1) / static_cast<double>(mid),
        torch::kFloat));
    auto log_pos = torch::ceil(torch::log(abs_pos / mid) / log_base * (mid - 1)) + mid;
    bucket = torch::where(abs_pos <= mid, delta.to(log_pos.scalar_type()), log_pos * sign).to(torch::kLong);
  }
  const int64_t span = config.relative_span();
  RelativePositions rel;
  rel.c2p_rows = torch::clamp(bucket + span, 0, 2 * span - 1).to(device);
  rel.p2c_rows = torch::clamp(span - bucket, 0, 2 * span - 1).to(device);
  rel.past_table = 2 * length - 1 > 2 * span;
  if (rel.past_table && with_index) {
    auto range = torch::arange(length, torch::TensorOptions().dtype(torch::kLong).device(device));
    auto column = (range.unsqueeze(0) - range.unsqueeze(1) + (length - 1)).flatten();  // j - i + L - 1
    rel.c2p_index = rel.c2p_rows.index_select(0, column).view({length, length});
    rel.p2c_index = rel.p2c_rows.index_select(0, column).view({length, length});
  }
  return rel;
}

// Row i of the result starts at flat offset i*(2L-1) + (L-1) - i = (L-1) + i*(2L-2)
// of the wide matrix: drop the first L-1 values, read rows of 2L-2, keep L.
torch::Tensor rel_shift(const torch::Tensor& wide) {
  const int64_t length = wide.size(-2);
  if (length == 1) return wide;
  auto sizes = wide.sizes().vec();
  sizes.back() = 2 * length - 2;
  return wide.contiguous()
      .flatten(-2)
      .narrow(-1, length - 1, length * (2 * length - 2))
      .view(sizes)
      .narrow(-1, 0, length);
}

// ------------------------------------------------------------ embeddings

DebertaV2EmbeddingsImpl::DebertaV2EmbeddingsImpl(const DebertaV2Config& config)
    : dropout_(config.hidden_dropout_prob) {
  const int64_t emb = config.word_embedding_size();
  auto word = torch::nn::EmbeddingOptions(config.vocab_size, emb);
  if (config.pad_token_id >= 0 && config.pad_token_id < config.vocab_size) word.padding_idx(config.pad_token_id);
  word_embeddings = register_module("word_embeddings", torch::nn::Embedding(word));
  if (config.position_biased_input)
    position_embeddings = register_module(
        "position_embeddings", torch::nn::Embedding(config.max_position_embeddings, emb));
  if (config.type_vocab_size > 0)
    token_type_embeddings =
        register_module("token_type_embeddings", torch::nn::Embedding(config.type_vocab_size, emb));
  if (emb != config.hidden_size)
    embed_proj = register_module(
        "embed_proj", runtime::Linear(torch::nn::LinearOptions(emb, config.hidden_size).bias(false)));
  LayerNorm = register_module("LayerNorm", layer_norm(config));
  init_normal_weights(*this, config.initializer_range);
}

torch::Tensor DebertaV2EmbeddingsImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                               const torch::Tensor& inputs_embeds, const torch::Tensor& mask) {
  auto x = inputs_embeds.defined() ? inputs_embeds : word_embeddings(input_ids);
  const auto longs = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  if (position_embeddings) x = x + position_embeddings(torch::arange(x.size(1), longs));
  if (token_type_embeddings)
    x = x + token_type_embeddings(token_type_ids.defined() ? token_type_ids : torch::zeros({x.size(0), x.size(1)}, longs));
  if (embed_proj) x = embed_proj(x);
  x = LayerNorm(x);
  if (mask.defined()) x = x * mask.unsqueeze(2).to(x.scalar_type());
  return train_dropout(x, dropout_, is_training());
}

// ------------------------------------------------------------- attention

DisentangledSelfAttentionImpl::DisentangledSelfAttentionImpl(const DebertaV2Config& config)
    : heads_(config.num_attention_heads),
      head_size_(config.head_size()),
      scale_factor_(1 + (config.has_c2p() ? 1 : 0) + (config.has_p2c() ? 1 : 0)),
      relative_attention_(config.relative_attention),
      c2p_(config.has_c2p()),
      p2c_(config.has_p2c()),
      share_att_key_(config.share_att_key),
      attention_dropout_(config.attention_probs_dropout_prob),
      pos_dropout_(config.hidden_dropout_prob),
      // HF: sqrt(d * (1 + #pos terms)) as a float32 CPU scalar tensor.
      scale_(torch::sqrt(torch::tensor(static_cast<float>(head_size_), torch::kFloat) * scale_factor_)) {
  const int64_t all = heads_ * head_size_;
  query_proj = register_module("query_proj", runtime::Linear(config.hidden_size, all));
  key_proj = register_module("key_proj", runtime::Linear(config.hidden_size, all));
  value_proj = register_module("value_proj", runtime::Linear(config.hidden_size, all));
  if (relative_attention_ && !share_att_key_) {
    if (c2p_) pos_key_proj = register_module("pos_key_proj", runtime::Linear(config.hidden_size, all));
    if (p2c_) pos_query_proj = register_module("pos_query_proj", runtime::Linear(config.hidden_size, all));
  }
}

torch::Tensor DisentangledSelfAttentionImpl::split_heads(const torch::Tensor& x) const {
  auto sizes = x.sizes().vec();
  sizes.back() = heads_;
  sizes.push_back(head_size_);
  return x.view(sizes).transpose(-3, -2);
}

torch::Tensor DisentangledSelfAttentionImpl::merge_heads(const torch::Tensor& x) const {
  return x.transpose(1, 2).reshape({x.size(0), x.size(2), heads_ * head_size_});
}

torch::Tensor DisentangledSelfAttentionImpl::forward(const torch::Tensor& x, const AttentionPlan& plan,
                                                     const PositionProjections& pos) {
  if (plan.packed()) return attend_per_row(query_proj(computed_rows(plan.queries, x)), key_proj(x), value_proj(x), plan, pos);
  auto q = split_heads(query_proj(x));  // [B,H,L,d]
  auto k = split_heads(key_proj(x));
  auto v = split_heads(value_proj(x));
  return merge_heads(attend(q, k, v, tables(plan.rel, pos), plan.masked_out));
}

DisentangledSelfAttentionImpl::Tables DisentangledSelfAttentionImpl::tables(const RelativePositions& rel,
                                                                           const PositionProjections& pos) const {
  Tables t;
  if (!relative_attention_) return t;
  const bool gather = rel.past_table;
  if (c2p_) t.key = gather ? pos.key : pos.key.index_select(1, rel.c2p_rows);  // [H,2S,d] or [H,2L-1,d]
  if (p2c_) t.query = gather ? pos.query : pos.query.index_select(1, rel.p2c_rows);
  t.c2p_index = rel.c2p_index;
  t.p2c_index = rel.p2c_index;
  return t;
}

PositionProjections DisentangledSelfAttentionImpl::project_positions(const torch::Tensor& rel_table) {
  PositionProjections pos;
  if (!relative_attention_) return pos;
  auto table = train_dropout(rel_table, pos_dropout_, is_training());
  if (c2p_) pos.key = split_heads((share_att_key_ ? key_proj : pos_key_proj)(table));          // [H,2S,d]
  if (p2c_) pos.query = split_heads((share_att_key_ ? query_proj : pos_query_proj)(table));  // [H,2S,d]
  return pos;
}

// HF disentangled attention: scores = q.(k/s) + c2p/s + p2c/s with
// c2p[i,j] = q_i . Kr[row(i-j)], p2c[i,j] = k_j . Qr[row(j-i)], s = scale_.
torch::Tensor DisentangledSelfAttentionImpl::attend(const torch::Tensor& q, const torch::Tensor& k,
                                                    const torch::Tensor& v, const Tables& t,
                                                    const torch::Tensor& masked_out) {
  auto scale = scale_.to(q.scalar_type());  // applied to k before q.k, as HF does
  auto scores = torch::matmul(q, k.transpose(-1, -2) / scale);
  // [..., L, columns] -> [..., L, L]: shift the wide form, or gather from the table's.
  auto relative = [&](const torch::Tensor& s, const torch::Tensor& index) {
    if (!index.defined()) return rel_shift(s);
    auto sizes = s.sizes().vec();
    sizes.back() = index.size(-1);
    return s.gather(-1, index.expand(sizes));
  };
  torch::Tensor bias;
  if (t.key.defined()) bias = relative(torch::matmul(q, t.key.transpose(-1, -2)), t.c2p_index) / scale;
  if (t.query.defined()) {
    auto term = relative(torch::matmul(k, t.query.transpose(-1, -2)), t.p2c_index).transpose(-1, -2) / scale;
    bias = bias.defined() ? bias + term : term;
  }
  if (bias.defined()) scores = scores + bias;
  if (masked_out.defined()) scores = scores.masked_fill(masked_out, lowest_value(scores.scalar_type()));
  auto probs = train_dropout(torch::softmax(scores, -1), attention_dropout_, is_training());
  return torch::matmul(probs, v);
}

torch::Tensor DisentangledSelfAttentionImpl::attend_per_row(const torch::Tensor& q, const torch::Tensor& k,
                                                            const torch::Tensor& v, const AttentionPlan& plan,
                                                            const PositionProjections& pos) {
  // With bf16 or int8 linear layers the products run in bf16 (fp32 sums,
  // fp32 scores and softmax).
  const bool bf16 = query_proj->dtype() != DType::kFloat32 && runtime::OneDnnMatmul::optimised(DType::kBFloat16);
  auto operand = [bf16](const torch::Tensor& t) {
    return t.defined() ? (bf16 ? t.to(torch::kBFloat16) : t).contiguous() : t;
  };
  DisentangledRows rows{plan.lengths, plan.offsets, {}, {}, plan.queries ? &*plan.queries : nullptr};
  if (relative_attention_) {
    // The whole table's projections, shared by every length; per length the
    // rows its offsets read (each (row, head) copies what it needs).
    rows.tables = {c2p_ ? operand(pos.key) : torch::Tensor(), p2c_ ? operand(pos.query) : torch::Tensor()};
    for (const auto& [n, rel] : plan.rel_by_length) rows.offsets_by_length[n] = {rel.c2p_rows, rel.p2c_rows, rel.past_table};
  }
  return disentangled_attention_rows(q, k, v, rows, heads_, scale_.item<float>(), bf16);
}

DebertaV2OutputImpl::DebertaV2OutputImpl(int64_t in_features, const DebertaV2Config& config)
    : dropout_(config.hidden_dropout_prob) {
  dense = register_module("dense", runtime::Linear(in_features, config.hidden_size));
  LayerNorm = register_module("LayerNorm", layer_norm(config));
}

torch::Tensor DebertaV2OutputImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return LayerNorm(linear_plus_residual(*dense, x, residual, dropout_, is_training()));
}

DebertaV2AttentionImpl::DebertaV2AttentionImpl(const DebertaV2Config& config) {
  self = register_module("self", DisentangledSelfAttention(config));
  output = register_module("output", DebertaV2Output(config.hidden_size, config));
}

torch::Tensor DebertaV2AttentionImpl::forward(const torch::Tensor& x, const AttentionPlan& plan,
                                              const PositionProjections& pos) {
  return output(self(x, plan, pos), computed_rows(plan.queries, x));
}

DebertaV2IntermediateImpl::DebertaV2IntermediateImpl(const DebertaV2Config& config)
    : act_(activation_by_name(config.hidden_act, kDebertaV2Config.name)), erf_gelu_(config.hidden_act == "gelu") {
  dense = register_module("dense", runtime::Linear(config.hidden_size, config.intermediate_size));
}

torch::Tensor DebertaV2IntermediateImpl::forward(const torch::Tensor& x) {
  return erf_gelu_ ? dense->forward_with(x, {true, {}}) : act_(dense(x));
}

DebertaV2LayerImpl::DebertaV2LayerImpl(const DebertaV2Config& config) {
  attention = register_module("attention", DebertaV2Attention(config));
  intermediate = register_module("intermediate", DebertaV2Intermediate(config));
  output = register_module("output", DebertaV2Output(config.intermediate_size, config));
}

torch::Tensor DebertaV2LayerImpl::forward(const torch::Tensor& x, const AttentionPlan& plan,
                                          const PositionProjections& pos) {
  auto attended = attention(x, plan, pos);
  return runtime::by_row_blocks(attended, [this](const torch::Tensor& rows) { return output(intermediate(rows), rows); });
}

ConvLayerImpl::ConvLayerImpl(const DebertaV2Config& config)
    : act_(activation_by_name(config.conv_act, kDebertaV2Config.name)), dropout_(config.hidden_dropout_prob) {
  const int64_t k = config.conv_kernel_size;
  conv = register_module("conv", torch::nn::Conv1d(torch::nn::Conv1dOptions(config.hidden_size, config.hidden_size, k)
                                                       .padding((k - 1) / 2)
                                                       .groups(config.conv_groups)));
  LayerNorm = register_module("LayerNorm", layer_norm(config));
}

// out = LN(residual + act(conv(embeddings) with padding rows zeroed)) * mask
torch::Tensor ConvLayerImpl::forward(const torch::Tensor& embeddings, const torch::Tensor& residual,
                                     const torch::Tensor& mask) {
  auto out = conv(embeddings.transpose(1, 2).contiguous()).transpose(1, 2);
  auto keep = mask.unsqueeze(2).to(out.scalar_type());
  out = act_(train_dropout(out.masked_fill(keep == 0, 0), dropout_, is_training()));
  return LayerNorm(residual + out) * keep;
}

// --------------------------------------------------------------- encoder

DebertaV2EncoderImpl::DebertaV2EncoderImpl(const DebertaV2Config& config) : config_(config) {
  config.validate();
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_.push_back(DebertaV2Layer(config));
    layer->push_back(layers_.back());
  }
  if (config.relative_attention)
    rel_embeddings =
        register_module("rel_embeddings", torch::nn::Embedding(2 * config.relative_span(), config.hidden_size));
  if (config.layer_norm_rel_embeddings())
    LayerNorm = register_module("LayerNorm", layer_norm(config));
  if (config.conv_kernel_size > 0) conv = register_module("conv", ConvLayer(config));
  init_normal_weights(*this, config.initializer_range);
}

EncoderOutput DebertaV2EncoderImpl::forward(torch::Tensor hidden, const torch::Tensor& mask, bool output_hidden_states,
                                            const torch::Tensor& read_positions) {
  const int64_t length = hidden.size(1);
  EncoderOutput out;
  if (output_hidden_states) out.hidden_states.push_back(hidden);
  if (length == 0) {
    out.last_hidden_state = hidden;
    return out;
  }
  const int64_t batch = hidden.size(0), width = hidden.size(2);
  auto real = mask.defined() ? mask.to(torch::kBool) : torch::ones({batch, length}, hidden.options().dtype(torch::kBool));
  AttentionPlan plan;
  auto lengths = real.sum(1).to(torch::kCPU);
  const bool packed = !is_training() && !torch::GradMode::is_enabled() &&
                      real.equal(torch::arange(length, lengths.options()).unsqueeze(0).lt(lengths.unsqueeze(1)).to(real.device()));
  if (packed) {
    plan.lengths.assign(lengths.data_ptr<int64_t>(), lengths.data_ptr<int64_t>() + lengths.numel());
    int64_t start = 0;
    for (int64_t n : plan.lengths) {
      plan.offsets.push_back(start);
      start += n;
      if (n > 0 && config_.relative_attention && !plan.rel_by_length.count(n))
        plan.rel_by_length[n] = build_relative_positions(config_, n, hidden.device(), /*with_index=*/false);
    }
    plan.index = torch::nonzero(real.flatten()).flatten();
  } else {
    // HF's pairwise mask m_i * m_j; skipped when nothing is padded (same result).
    if (!real.all().item<bool>())
      plan.masked_out = real.unsqueeze(1).unsqueeze(2).logical_and(real.unsqueeze(1).unsqueeze(3)).logical_not();
    if (config_.relative_attention) plan.rel = build_relative_positions(config_, length, hidden.device());
  }
  std::vector<PositionProjections> positions(layers_.size());
  if (config_.relative_attention) positions = position_projections();

  // Packed [T,D] <-> [B,L,D] with zeros at padding.
  auto pack = [&](const torch::Tensor& t) { return t.reshape({batch * length, width}).index_select(0, plan.index); };
  auto unpack = [&](const torch::Tensor& t, const torch::Tensor& index) {
    return torch::zeros({batch * length, width}, t.options()).index_copy_(0, index, t).view({batch, length, width});
  };
  // The last layer at the read positions alone (its conv, after layer 0, needs them all).
  std::optional<ReadRows> last_queries;
  if (packed && read_positions.defined() && !output_hidden_states && !(conv && layers_.size() == 1))
    last_queries = read_rows(read_positions, plan.lengths, plan.offsets);
  torch::Tensor x = packed ? pack(hidden) : hidden;
  if (packed && !conv) hidden.reset();  // the padded [B,L,D] input is not read again: freed now, not at the end
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (i + 1 == layers_.size()) plan.queries = std::move(last_queries);
    x = layers_[i]->forward(x, plan, positions[i]);
    if (i == 0 && conv) x = packed ? pack(conv(hidden, unpack(x, plan.index), real)) : conv(hidden, x, real);
    if (output_hidden_states) out.hidden_states.push_back(packed ? unpack(x, plan.index) : x);
  }
  if (packed) x = unpack(x, plan.queries ? plan.index.index_select(0, plan.queries->index.to(plan.index.device())) : plan.index);
  out.last_hidden_state = x;
  return out;
}

std::vector<int64_t> DebertaV2EncoderImpl::parameter_versions() const {
  std::vector<int64_t> versions;
  for (const auto& p : parameters()) {
    versions.push_back(static_cast<int64_t>(reinterpret_cast<intptr_t>(p.data_ptr())));
    versions.push_back(static_cast<int64_t>(p._version()));
  }
  return versions;
}

std::vector<PositionProjections> DebertaV2EncoderImpl::position_projections() {
  auto compute = [this] {
    auto table = rel_embeddings->weight;
    if (LayerNorm) table = LayerNorm(table);
    std::vector<PositionProjections> out;
    for (auto& l : layers_) out.push_back(l->attention->self->project_positions(table));
    return out;
  };
  if (is_training() || torch::GradMode::is_enabled()) return compute();
  std::lock_guard<std::mutex> lock(cache_mutex_);
  auto versions = parameter_versions();
  PositionCache& cache = position_cache_[runtime::active_adapter()];
  if (cache.positions.empty() || versions != cache.versions) {
    cache.positions = compute();
    cache.versions = std::move(versions);
  }
  return cache.positions;
}

// ----------------------------------------------------------------- model

DebertaV2ModelImpl::DebertaV2ModelImpl(const DebertaV2Config& config) : config_(config) {
  embeddings = register_module("embeddings", DebertaV2Embeddings(config));
  encoder = register_module("encoder", DebertaV2Encoder(config));
}

torch::Tensor DebertaV2ModelImpl::embed_tokens(const torch::Tensor& input_ids) {
  return embeddings->word_embeddings(input_ids);
}

namespace {

// Shapes and id ranges of one call; InputError names the tensor.
void check_input(const EncoderInput& in, const DebertaV2Config& config) {
  const bool has_ids = in.input_ids.defined(), has_embeds = in.inputs_embeds.defined();
  if (has_ids == has_embeds)
    throw InputError(std::string("deberta-v2: give exactly one of input_ids and inputs_embeds (got ") +
                     (has_ids ? "both" : "neither") + ")");
  const auto& ref = has_ids ? in.input_ids : in.inputs_embeds;
  if (ref.dim() != (has_ids ? 2 : 3) || (has_embeds && ref.size(2) != config.word_embedding_size()))
    throw InputError(std::string("deberta-v2: ") + (has_ids ? "input_ids must be [batch, length]" :
                     "inputs_embeds must be [batch, length, " + std::to_string(config.word_embedding_size()) + "]") +
                     " (got " + c10::str(ref.sizes()) + ")");
  const int64_t batch = ref.size(0), length = ref.size(1);
  if (length == 0) throw InputError("deberta-v2: empty sequence (expected length >= 1)");
  if (config.position_biased_input && length > config.max_position_embeddings)
    throw InputError("deberta-v2: sequence too long for absolute positions (expected <= " +
                     std::to_string(config.max_position_embeddings) + ", got " + std::to_string(length) + ")");
  auto check = [&](const torch::Tensor& t, const char* name, int64_t limit) {
    if (!t.defined()) return;
    if (t.dim() != 2 || t.size(0) != batch || t.size(1) != length)
      throw InputError(std::string("deberta-v2: ") + name + " must be [" + std::to_string(batch) + ", " +
                       std::to_string(length) + "] (got " + c10::str(t.sizes()) + ")");
    if (limit <= 0) return;
    auto bad = t.lt(0) | t.ge(limit);
    if (bad.any().item<bool>())
      throw InputError(std::string("deberta-v2: ") + name + " value out of range (expected 0.." +
                       std::to_string(limit - 1) + ", got " + std::to_string(t.masked_select(bad)[0].item<int64_t>()) + ")");
  };
  check(in.input_ids, "input_ids", config.vocab_size);
  check(in.attention_mask, "attention_mask", 0);
  check(in.token_type_ids, "token_type_ids", config.type_vocab_size);
}

}  // namespace

EncoderOutput DebertaV2ModelImpl::forward(const EncoderInput& in) {
  check_input(in, config_);
  const auto& ref = in.input_ids.defined() ? in.input_ids : in.inputs_embeds;
  auto mask = in.attention_mask.defined() ? in.attention_mask
                                          : torch::ones({ref.size(0), ref.size(1)}, ref.options().dtype(torch::kLong));
  auto hidden = embeddings(in.input_ids, in.token_type_ids, in.inputs_embeds, mask);
  return encoder(std::move(hidden), mask, in.output_hidden_states, in.read_positions);
}

}  // namespace gliclass::encoders
