#include "io/config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <fstream>

#include "gliclass/error.h"
#include "io/json_limits.h"

namespace gliclass::io {
namespace {

using nlohmann::json;

std::string type_name(const json& v) { return v.type_name(); }

[[noreturn]] void bad_key(const std::string& key, const std::string& expected, const json& v) {
  throw ModelError("config: key '" + key + "' (expected " + expected + ", got " + type_name(v) +
                   " " + v.dump() + ")");
}

// Each reader leaves `out` as it is (the default) when the key is absent or null.
void read(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if (!it->is_string()) bad_key(key, "a string", *it);
  out = it->get<std::string>();
}

void read(const json& j, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if (!it->is_boolean()) bad_key(key, "true or false", *it);
  out = it->get<bool>();
}

void read(const json& j, const char* key, double& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if (!it->is_number()) bad_key(key, "a number", *it);
  out = it->get<double>();
}

void read(const json& j, const char* key, int64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  // Range first: a cast of a double or uint64 outside int64 is undefined.
  constexpr double kInt64Bound = 9223372036854775808.0;  // 2^63
  if (it->is_number_unsigned()) {
    if (it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      bad_key(key, "an integer in the int64 range", *it);
    out = static_cast<int64_t>(it->get<uint64_t>());
  } else if (it->is_number_integer()) {
    out = it->get<int64_t>();
  } else if (it->is_number_float() && it->get<double>() >= -kInt64Bound && it->get<double>() < kInt64Bound &&
             it->get<double>() == std::trunc(it->get<double>())) {
    out = static_cast<int64_t>(it->get<double>());
  } else {
    bad_key(key, "an integer", *it);
  }
}

void read(const json& j, const char* key, std::optional<int64_t>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  int64_t v = 0;
  read(j, key, v);
  out = v;
}

void check_one_of(const std::string& key, const std::string& value,
                  const std::vector<std::string>& allowed) {
  for (const auto& a : allowed)
    if (a == value) return;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  throw ModelError("config: key '" + key + "' has unknown value '" + value + "' (expected one of " +
                   list + ")");
}

}  // namespace

const std::vector<std::string>& known_architectures() {
  static const std::vector<std::string> names = {"uni-encoder",     "bi-encoder",          "bi-encoder-fused",
                                                 "encoder-decoder", "encoder-decoder-cls", "decoder-kv"};
  return names;
}

std::string GLiClassConfig::encoder_model_type() const {
  auto it = encoder_config.find("model_type");
  if (it == encoder_config.end() || !it->is_string()) return "deberta-v2";
  return it->get<std::string>();
}

int64_t GLiClassConfig::encoder_hidden_size() const {
  for (const char* key : {"hidden_size", "d_model"}) {
    auto it = encoder_config.find(key);
    if (it != encoder_config.end() && it->is_number_integer()) return it->get<int64_t>();
  }
  throw ModelError("config: encoder_config has no integer 'hidden_size'");
}

GLiClassConfig GLiClassConfig::from_json(const json& j) {
  if (!j.is_object()) throw ModelError("config: expected a JSON object, got " + type_name(j));
  GLiClassConfig c;
  c.raw = j;

  if (auto it = j.find("encoder_config"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) bad_key("encoder_config", "an object", *it);
    c.encoder_config = *it;
  }
  if (auto it = j.find("label_model_config"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) bad_key("label_model_config", "an object", *it);
    c.label_model_config = *it;
  }
  read(j, "encoder_model_name", c.encoder_model_name);
  read(j, "label_model_name", c.label_model_name);
  read(j, "hidden_size", c.hidden_size);
  read(j, "vocab_size", c.vocab_size);
  read(j, "class_token_index", c.class_token_index);
  read(j, "text_token_index", c.text_token_index);
  read(j, "example_token_index", c.example_token_index);
  read(j, "sep_token_index", c.sep_token_index);
  read(j, "pad_token_id", c.pad_token_id);

  read(j, "projector_hidden_act", c.projector_hidden_act);
  read(j, "dropout", c.dropout);
  read(j, "initializer_range", c.initializer_range);
  read(j, "scorer_type", c.scorer_type);
  read(j, "scorer_num_heads", c.scorer_num_heads);
  read(j, "scorer_mlp_hidden_size", c.scorer_mlp_hidden_size);
  read(j, "scorer_attn_dropout", c.scorer_attn_dropout);
  read(j, "scorer_encoder_num_layers", c.scorer_encoder_num_layers);
  read(j, "pooling_strategy", c.pooling_strategy);
  read(j, "class_token_pooling", c.class_token_pooling);
  read(j, "embed_class_token", c.embed_class_token);
  read(j, "use_lstm", c.use_lstm);
  read(j, "squeeze_layers", c.squeeze_layers);
  read(j, "layer_wise", c.layer_wise);
  read(j, "encoder_layer_id", c.encoder_layer_id);
  read(j, "use_segment_embeddings", c.use_segment_embeddings);
  read(j, "extract_text_features", c.extract_text_features);
  read(j, "normalize_features", c.normalize_features);
  read(j, "logit_scale_init_value", c.logit_scale_init_value);
  read(j, "max_num_classes", c.max_num_classes);
  if (auto it = j.find("max_labels_alloc"); it != j.end() && !it->is_null()) {
    if (it->is_number_integer()) {
      int64_t n = 0;
      read(j, "max_labels_alloc", n);
      c.max_labels_alloc = std::to_string(n);
    } else {
      read(j, "max_labels_alloc", c.max_labels_alloc);
    }
  }

  read(j, "problem_type", c.problem_type);
  read(j, "focal_loss_alpha", c.focal_loss_alpha);
  read(j, "focal_loss_gamma", c.focal_loss_gamma);
  read(j, "focal_loss_reduction", c.focal_loss_reduction);
  read(j, "contrastive_loss_coef", c.contrastive_loss_coef);
  read(j, "ignore_index", c.ignore_index);

  read(j, "architecture_type", c.architecture_type);
  read(j, "prompt_first", c.prompt_first);

  // Reference fallbacks: the encoder's sizes, and token ids after the vocabulary.
  if (c.hidden_size <= 0) c.hidden_size = c.encoder_hidden_size();
  if (c.vocab_size <= 0) {
    auto it = c.encoder_config.find("vocab_size");
    if (it != c.encoder_config.end() && it->is_number_integer()) read(c.encoder_config, "vocab_size", c.vocab_size);
  }
  // Token ids are int32 in the tokenizers; the three after the vocabulary must fit too.
  constexpr int64_t kMaxVocab = std::numeric_limits<int32_t>::max() - 3;
  if (c.vocab_size > kMaxVocab)
    throw ModelError("config: key 'vocab_size' is too large (expected at most " + std::to_string(kMaxVocab) +
                     ", got " + std::to_string(c.vocab_size) + ")");
  if (c.class_token_index < 0) c.class_token_index = c.vocab_size;
  if (c.text_token_index < 0) c.text_token_index = c.vocab_size + 1;
  if (c.example_token_index < 0) c.example_token_index = c.vocab_size + 2;

  {
    const auto& known = known_architectures();
    if (std::find(known.begin(), known.end(), c.architecture_type) == known.end()) {
      std::string list;
      for (const auto& a : known) list += (list.empty() ? "" : ", ") + a;
      throw ModelError("config: architecture_type '" + c.architecture_type +
                       "' is not supported by this build (supported: " + list + ")");
    }
  }
  check_one_of("pooling_strategy", c.pooling_strategy,
               {"first", "last", "max", "avg", "sum", "rms", "abs_max", "abs_avg", "pass"});
  check_one_of("class_token_pooling", c.class_token_pooling, {"first", "average"});
  check_one_of("scorer_type", c.scorer_type,
               {"simple", "weighted-dot", "mlp", "hopfield", "cross-attn", "decoder-kv"});
  check_one_of("focal_loss_reduction", c.focal_loss_reduction, {"mean", "sum", "none"});
  {
    const std::string& a = c.max_labels_alloc;
    const bool number = !a.empty() && a.size() <= 18 &&
                        std::all_of(a.begin(), a.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; });
    if (!number && a != "dynamic" && a != "fixed")
      throw ModelError("config: key 'max_labels_alloc' has unknown value '" + a.substr(0, 40) +
                       "' (expected dynamic, fixed or a non-negative integer)");
  }
  if (c.max_num_classes <= 0)
    throw ModelError("config: key 'max_num_classes' must be positive (got " +
                     std::to_string(c.max_num_classes) + ")");
  return c;
}

GLiClassConfig GLiClassConfig::from_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw ModelError("config: cannot open " + file.string());
  json j;
  try {
    j = parse_json_bounded<ModelError>(in, "config: " + file.string());
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number past double
    throw ModelError("config: " + file.string() + " is not valid JSON (" + e.what() + ")");
  }
  try {
    return from_json(j);
  } catch (const ModelError& e) {
    throw ModelError(std::string(e.what()) + " in " + file.string());
  }
}

json GLiClassConfig::to_json() const {
  json j = raw;
  j["encoder_config"] = encoder_config;
  j["encoder_model_name"] = encoder_model_name;
  j["label_model_config"] = label_model_config;
  j["label_model_name"] = label_model_name.empty() ? json(nullptr) : json(label_model_name);
  j["hidden_size"] = hidden_size;
  j["vocab_size"] = vocab_size;
  j["class_token_index"] = class_token_index;
  j["text_token_index"] = text_token_index;
  j["example_token_index"] = example_token_index;
  if (sep_token_index) j["sep_token_index"] = *sep_token_index;
  if (pad_token_id) j["pad_token_id"] = *pad_token_id;
  j["projector_hidden_act"] = projector_hidden_act;
  j["dropout"] = dropout;
  j["initializer_range"] = initializer_range;
  j["scorer_type"] = scorer_type;
  j["scorer_num_heads"] = scorer_num_heads;
  j["scorer_mlp_hidden_size"] = scorer_mlp_hidden_size;
  j["scorer_attn_dropout"] = scorer_attn_dropout;
  j["scorer_encoder_num_layers"] = scorer_encoder_num_layers;
  j["pooling_strategy"] = pooling_strategy;
  j["class_token_pooling"] = class_token_pooling;
  j["embed_class_token"] = embed_class_token;
  j["use_lstm"] = use_lstm;
  j["squeeze_layers"] = squeeze_layers;
  j["layer_wise"] = layer_wise;
  j["encoder_layer_id"] = encoder_layer_id;
  j["use_segment_embeddings"] = use_segment_embeddings;
  j["extract_text_features"] = extract_text_features;
  j["normalize_features"] = normalize_features;
  j["logit_scale_init_value"] = logit_scale_init_value;
  j["max_num_classes"] = max_num_classes;
  bool numeric = !max_labels_alloc.empty() &&
                 std::all_of(max_labels_alloc.begin(), max_labels_alloc.end(),
                             [](unsigned char ch) { return std::isdigit(ch) != 0; });
  j["max_labels_alloc"] = numeric ? json(std::stoll(max_labels_alloc)) : json(max_labels_alloc);
  j["problem_type"] = problem_type;
  j["focal_loss_alpha"] = focal_loss_alpha;
  j["focal_loss_gamma"] = focal_loss_gamma;
  j["focal_loss_reduction"] = focal_loss_reduction;
  j["contrastive_loss_coef"] = contrastive_loss_coef;
  j["ignore_index"] = ignore_index;
  j["architecture_type"] = architecture_type;
  j["prompt_first"] = prompt_first;
  return j;
}

}  // namespace gliclass::io
