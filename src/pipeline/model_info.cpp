#include "pipeline/model_info.h"

#include <fstream>

#include "io/checkpoint.h"
#include "io/config.h"
#include "pipeline/bi_encoder_pipeline.h"
#include "pipeline/prompt.h"
#include "tokenize/tokenizer.h"

namespace gliclass::pipeline {
namespace {

using nlohmann::json;

// The first of `keys` present in a backbone config (the names differ by family).
json first_of(const json& config, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (config.contains(k)) return config.at(k);
  return nullptr;
}

json backbone(const json& config) {
  if (!config.is_object()) return nullptr;
  return {{"model_type", config.value("model_type", "deberta-v2")},
          {"hidden_size", first_of(config, {"hidden_size", "d_model"})},
          {"layers", first_of(config, {"num_hidden_layers", "num_layers"})},
          {"attention_heads", first_of(config, {"num_attention_heads", "num_heads"})},
          {"kv_heads", first_of(config, {"num_key_value_heads"})},
          {"intermediate_size", first_of(config, {"intermediate_size", "d_ff"})},
          {"vocab_size", first_of(config, {"vocab_size"})},
          {"max_position_embeddings", first_of(config, {"max_position_embeddings", "n_positions"})}};
}

// Which loader Tokenizer::from_dir picks, named by its files.
std::string tokenizer_kind(const std::filesystem::path& dir) {
  if (std::filesystem::exists(dir / "tokenizer.json")) {
    const auto j = json::parse(std::ifstream(dir / "tokenizer.json"), nullptr, /*allow_exceptions=*/false);
    const std::string type = j.is_object() && j.contains("model") ? j["model"].value("type", "?") : "?";
    return "tokenizer.json (" + type + ")";
  }
  for (const char* spm : {"spm.model", "spiece.model"})
    if (std::filesystem::exists(dir / spm)) return std::string(spm) + " (SentencePiece)";
  if (std::filesystem::exists(dir / "vocab.json") && std::filesystem::exists(dir / "merges.txt"))
    return "vocab.json + merges.txt (byte-level BPE)";
  if (std::filesystem::exists(dir / "vocab.txt")) return "vocab.txt (WordPiece)";
  return "none";
}

json tokenizer_info(const tokenize::Tokenizer& tok, const std::filesystem::path& dir) {
  json special = json::object();
  for (const char* t : {kLabelToken, kSepToken, kExampleToken}) special[t] = tok.token_to_id(t).value_or(-1);
  return {{"kind", tokenizer_kind(dir)}, {"vocab_size", tok.vocab_size()}, {"pad_id", tok.pad_id()},
          {"prefix_ids", tok.prefix_ids()}, {"suffix_ids", tok.suffix_ids()}, {"special_token_ids", special}};
}

}  // namespace

json describe_model_dir(const std::filesystem::path& dir) {
  const auto config = io::GLiClassConfig::from_file(dir / "config.json");
  const auto weights = io::open_checkpoint(dir);
  int64_t parameters = 0;
  for (const auto& name : weights->names()) {
    int64_t n = 1;
    for (auto d : weights->shape(name)) n *= d;
    parameters += n;
  }
  json out = {{"model", dir.string()},
              {"architecture_type", config.architecture_type},
              {"backbone", backbone(config.encoder_config)},
              {"parameters", parameters},
              {"tensors", weights->names().size()},
              {"weights", weights->source()},
              {"heads",
               {{"pooling_strategy", config.pooling_strategy},
                {"class_token_pooling", config.class_token_pooling},
                {"scorer_type", config.scorer_type},
                {"projector_hidden_size", config.hidden_size > 0 ? config.hidden_size : config.encoder_hidden_size()},
                {"normalize_features", config.normalize_features},
                {"prompt_first", config.prompt_first},
                {"max_num_classes", config.max_num_classes}}},
              {"config_token_ids",
               {{"class_token_index", config.class_token_index},
                {"text_token_index", config.text_token_index},
                {"example_token_index", config.example_token_index},
                {"sep_token_index", config.sep_token_index ? json(*config.sep_token_index) : json(nullptr)},
                {"pad_token_id", config.pad_token_id ? json(*config.pad_token_id) : json(nullptr)}}},
              {"problem_type", config.problem_type}};
  out["tokenizer"] = tokenizer_info(*tokenize::Tokenizer::from_dir(dir), dir);
  if (config.label_model_config.is_object()) {
    out["label_backbone"] = backbone(config.label_model_config);
    const std::filesystem::path label_dir = dir / config.label_model_name;
    out["label_tokenizer"] = tokenizer_info(*load_label_tokenizer(dir, config),
                                            std::filesystem::is_directory(label_dir) ? label_dir : dir);
  }
  return out;
}

}  // namespace gliclass::pipeline
