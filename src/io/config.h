// config.json of a GLiClass checkpoint: every field of the reference's
// GLiClassModelConfig, with the reference's defaults (reference.md §2 Config).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace gliclass::io {

struct GLiClassConfig {
  // Backbone.
  nlohmann::json encoder_config = nlohmann::json::object();  // model_type defaults to deberta-v2
  std::string encoder_model_name;
  nlohmann::json label_model_config;  // null unless bi-encoder
  std::string label_model_name;
  int64_t hidden_size = 0;  // projector inner size; 0 = the encoder's
  int64_t vocab_size = 0;   // 0 = the encoder's
  int64_t class_token_index = -1;
  int64_t text_token_index = -1;
  int64_t example_token_index = -1;
  std::optional<int64_t> sep_token_index;  // decoder-kv only
  std::optional<int64_t> pad_token_id;

  // Heads.
  std::string projector_hidden_act = "gelu";
  double dropout = 0.1;
  double initializer_range = 0.03;
  std::string scorer_type = "simple";
  int64_t scorer_num_heads = 16;
  int64_t scorer_mlp_hidden_size = 1024;
  double scorer_attn_dropout = 0.1;
  int64_t scorer_encoder_num_layers = 2;
  std::string pooling_strategy = "first";
  std::string class_token_pooling = "first";  // first | average
  bool embed_class_token = true;
  bool use_lstm = false;
  bool squeeze_layers = false;
  bool layer_wise = false;
  int64_t encoder_layer_id = -1;
  bool use_segment_embeddings = false;
  bool extract_text_features = false;
  bool normalize_features = false;
  double logit_scale_init_value = 2.6592;
  int64_t max_num_classes = 25;
  std::string max_labels_alloc = "dynamic";  // dynamic | fixed | an integer, as text

  // Task and loss.
  std::string problem_type = "single_label_classification";
  double focal_loss_alpha = 0.5;
  double focal_loss_gamma = 2;
  std::string focal_loss_reduction = "mean";  // the reference's null means mean here
  double contrastive_loss_coef = 0;
  int64_t ignore_index = -100;

  // Layout.
  std::string architecture_type = "uni-encoder";
  bool prompt_first = false;

  // Every key of config.json, as read (unknown ones kept for round trips).
  nlohmann::json raw = nlohmann::json::object();

  std::string encoder_model_type() const;
  int64_t encoder_hidden_size() const;

  // ModelError with the key and the problem on a wrong type or value.
  static GLiClassConfig from_json(const nlohmann::json& j);
  static GLiClassConfig from_file(const std::filesystem::path& file);
  nlohmann::json to_json() const;
};

// Architectures this build runs; anything else is a ModelError listing them.
const std::vector<std::string>& known_architectures();

}  // namespace gliclass::io
