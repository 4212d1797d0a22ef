#include "tokenize/tokenizer.h"

#include <algorithm>

#include "gliclass/error.h"
#include "tokenize/wordpiece_tokenizer.h"

namespace gliclass::tokenize {
namespace fs = std::filesystem;

namespace {

using Loader = std::unique_ptr<Tokenizer> (*)(const fs::path&);

// What a directory may ship, in the order HF's AutoTokenizer prefers it
// (the fast tokenizer.json first). Further formats are further rows.
struct TokenizerFile {
  const char* name;
  Loader load;
};
const TokenizerFile kTokenizerFiles[] = {
    {"tokenizer.json", &load_tokenizer_json},
    {"spm.model", &load_sentencepiece},
    {"spiece.model", &load_sentencepiece},
    {"vocab.txt", &load_wordpiece_vocab},  // slow BertTokenizer
    {"vocab.json", &load_bpe_vocab_merges},  // slow Qwen2Tokenizer (with merges.txt)
};

}  // namespace

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names = {
      "tokenizer.json",  "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
      "spm.model",       "spiece.model",          "sentencepiece.bpe.model", "vocab.txt",
      "vocab.json",      "merges.txt"};
  return names;
}

std::unique_ptr<Tokenizer> Tokenizer::from_dir(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw ModelError("tokenize: tokenizer directory " + dir.string() + " does not exist");
  std::string looked_for;
  for (const auto& f : kTokenizerFiles) {
    if (fs::exists(dir / f.name)) return f.load(dir);
    looked_for += looked_for.empty() ? f.name : std::string(", ") + f.name;
  }
  std::string found;
  for (const char* other : {"merges.txt", "sentencepiece.bpe.model", "tokenizer.model"}) {
    if (fs::exists(dir / other)) found += std::string(found.empty() ? "" : ", ") + other;
  }
  throw ModelError("tokenize: no supported tokenizer files in " + dir.string() +
                   " (expected one of " + looked_for + "; found " +
                   (found.empty() ? "none of them" : found + ", which this build cannot load") +
                   ")");
}

std::vector<int64_t> Tokenizer::encode_with_special_tokens(std::string_view text,
                                                           size_t max_length) const {
  std::vector<int64_t> body = encode(text).ids;
  // HF truncation=True (longest_first, one sequence): drop tokens from the
  // right of the sequence, never the special tokens around it.
  const size_t specials = prefix_ids().size() + suffix_ids().size();
  if (max_length > 0 && specials + body.size() > max_length) body.resize(max_length > specials ? max_length - specials : 0);
  return with_special_tokens(body);
}

std::vector<int64_t> Tokenizer::with_special_tokens(const std::vector<int64_t>& body) const {
  std::vector<int64_t> ids = prefix_ids();
  ids.insert(ids.end(), body.begin(), body.end());
  const auto suffix = suffix_ids();
  const bool present = suffix_only_if_absent() && !suffix.empty() && body.size() >= suffix.size() &&
                       std::equal(suffix.begin(), suffix.end(), body.end() - static_cast<std::ptrdiff_t>(suffix.size()));
  if (!present) ids.insert(ids.end(), suffix.begin(), suffix.end());
  return ids;
}

}  // namespace gliclass::tokenize
