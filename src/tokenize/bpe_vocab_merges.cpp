// The slow byte-level BPE layout of Qwen2Tokenizer (Qwen2, Qwen3): vocab.json
// ({token: id}) + merges.txt (one "left right" pair per line, priority
// order, an optional "#version" header) + the config files' added tokens.
// Its pipeline is one a tokenizer.json can declare (NFC, split by Qwen2's
// pre-tokenization regex, byte-level mapping, BPE, no special tokens around
// a sequence), so the loader describes it as one and hands it to
// load_bpe_json. Other classes with this layout (GPT2Tokenizer,
// RobertaTokenizer) differ in regex and template and are refused by name.
#include <fstream>
#include <sstream>

#include "gliclass/error.h"
#include "io/json_limits.h"
#include "tokenize/pre_tokenizers.h"
#include "tokenize/tokenizer_json.h"

namespace gliclass::tokenize {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Qwen2Tokenizer's PRETOKENIZE_REGEX: GPT-2's with single digits, letters
// possibly led by one non-letter, and newline runs kept apart.
constexpr const char kQwen2Pattern[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

json read_vocab(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ModelError("tokenize: cannot open " + file.string());
  try {
    json vocab = io::parse_json_bounded<ModelError>(in, "tokenize: " + file.string());
    if (!vocab.is_object())
      throw ModelError("tokenize: " + file.string() + ": expected an object {token: id}, got " +
                       vocab.type_name());
    return vocab;
  } catch (const json::exception& e) {
    throw ModelError("tokenize: " + file.string() + " is not valid JSON (" + e.what() + ")");
  }
}

// As the slow tokenizers read it: lines stripped, empty ones and the
// "#version" header skipped, each line split on whitespace into two parts.
json read_merges(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ModelError("tokenize: cannot open " + file.string());
  json merges = json::array();
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream parts(line);
    std::string left, right, extra;
    if (!(parts >> left)) continue;
    if (number == 1 && line.rfind("#version", 0) == 0) continue;
    if (!(parts >> right) || (parts >> extra))
      throw ModelError("tokenize: " + file.string() + " line " + std::to_string(number) +
                       ": expected \"left right\", got \"" + line.substr(0, 80) + "\"");
    merges.push_back(json::array({left, right}));
  }
  return merges;
}

json qwen2_pre_tokenizer() {
  json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                     {"use_regex", false}};
  json split = {{"type", "Split"}, {"pattern", {{"Regex", kQwen2Pattern}}}, {"behavior", "Isolated"},
                {"invert", false}};
  return {{"type", "Sequence"}, {"pretokenizers", json::array({split, byte_level})}};
}

}  // namespace

std::unique_ptr<Tokenizer> load_bpe_vocab_merges(const fs::path& dir) {
  TokenizerJson tj;
  tj.dir = dir;
  tj.file = dir / "vocab.json";
  if (!fs::exists(dir / "merges.txt"))
    throw ModelError("tokenize: " + tj.file.string() + " has no merges.txt beside it (byte-level BPE needs both)");
  tj.config = read_token_config(dir);
  const std::string& cls = tj.config.settings.tokenizer_class;
  if (cls.rfind("Qwen2Tokenizer", 0) != 0)
    throw ModelError("tokenize: " + tj.file.string() + " + merges.txt: only Qwen2Tokenizer's layout is supported (" +
                     "tokenizer_config.json names " + (cls.empty() ? std::string("no tokenizer_class") : cls) + ")");
  tj.doc = {{"model",
             {{"type", "BPE"}, {"vocab", read_vocab(tj.file)}, {"merges", read_merges(dir / "merges.txt")}}},
            {"normalizer", {{"type", "NFC"}}},
            {"pre_tokenizer", qwen2_pre_tokenizer()},
            {"post_processor", json()}};
  return load_bpe_json(tj);
}

}  // namespace gliclass::tokenize
