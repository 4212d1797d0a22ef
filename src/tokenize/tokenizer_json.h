// tokenizer.json (the HF fast-tokenizer file): the parts every model type
// shares (added_tokens, post_processor, padding) and the table of model types.
// One loader per "model.type": Unigram in unigram_json.cpp, BPE in
// bpe_json.cpp, WordPiece in wordpiece_json.cpp.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenize/added_tokens.h"
#include "tokenize/sentencepiece_tokenizer.h"
#include "tokenize/tokenizer.h"

namespace gliclass::tokenize {

struct TokenizerJson {
  std::filesystem::path dir;
  std::filesystem::path file;         // dir / "tokenizer.json"
  nlohmann::json doc;                 // the parsed file
  std::vector<AddedToken> added;      // its "added_tokens", with ids
  TokenConfig config;                 // the config files beside it
};

// Loader for one model type; `tj.doc["model"]["type"]` has been checked.
using JsonModelLoader = std::unique_ptr<Tokenizer> (*)(const TokenizerJson& tj);
std::unique_ptr<Tokenizer> load_unigram_json(const TokenizerJson& tj);
std::unique_ptr<Tokenizer> load_bpe_json(const TokenizerJson& tj);        // bpe_json.cpp
std::unique_ptr<Tokenizer> load_wordpiece_json(const TokenizerJson& tj);  // wordpiece_json.cpp

// Prefix/suffix ids of a single sequence from "post_processor"
// (TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence).
SpecialIds post_processor_ids(const TokenizerJson& tj);

// Padding id: "padding.pad_id", else the configs' pad token, else <pad>/[PAD],
// else 0.
int64_t json_pad_id(const TokenizerJson& tj,
                    const std::function<std::optional<int64_t>(std::string_view)>& lookup);

// Member `key` of object `obj`, or ModelError naming `where` and the key.
const nlohmann::json& json_member(const nlohmann::json& obj, const char* key,
                                  const std::string& where);
std::string json_string(const nlohmann::json& obj, const char* key, const std::string& where);
// Boolean member `key`, or `fallback` when absent or not a boolean.
bool json_flag(const nlohmann::json& obj, const char* key, bool fallback);
// The model's "vocab": {token: id} (BPE, WordPiece), as (token, id) pairs.
std::vector<std::pair<std::string, int64_t>> json_token_ids(const nlohmann::json& model, const std::string& where);

// RFC 4648 base64 (the precompiled_charsmap encoding); throws ModelError.
std::string base64_decode(std::string_view text, const std::string& where);

}  // namespace gliclass::tokenize
