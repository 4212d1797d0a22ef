// Added tokens (<<LABEL>>, [MASK], <extra_id_0>, ...): where a model
// directory declares them, and the splitter that cuts them out of a string
// before the subword model sees the rest.
#pragma once
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gliclass::tokenize {

struct AddedToken {
  std::string content;
  int64_t id = -1;  // -1 = not known yet (resolved by merge_added_tokens)
  bool lstrip = false;       // eat whitespace on the left
  bool rstrip = false;       // eat whitespace on the right
  bool single_word = false;  // only match outside a word
  bool special = false;
};

// A piece of the input: an added token, or text for the subword model.
struct Segment {
  size_t begin = 0;  // byte range in the input
  size_t end = 0;
  const AddedToken* token = nullptr;  // nullptr: plain text
};

// Immutable set of added tokens with a leftmost-longest splitter (the HF
// slow tokenizer's trie split). Thread-safe once built.
class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  explicit AddedVocabulary(std::vector<AddedToken> tokens);

  // Cuts `text` into segments; plain segments next to an lstrip/rstrip token
  // lose their whitespace on that side, and empty plain segments are dropped.
  std::vector<Segment> split(std::string_view text) const;

  const AddedToken* find(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  int64_t max_id() const;  // -1 when empty

 private:
  struct Node {
    std::map<unsigned char, int> next;
    int token = -1;  // index into tokens_ when a token ends here
  };
  // Longest token starting at `pos` that is allowed there; -1 if none.
  int match_at(std::string_view text, size_t pos, size_t* length) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> trie_ = std::vector<Node>(1);
};

// Special-token names and slow-tokenizer options a directory's config files
// declare (tokenizer_config.json wins over special_tokens_map.json).
struct TokenizerSettings {
  std::optional<std::string> bos, eos, unk, sep, pad, cls, mask;
  std::vector<std::string> additional;
  std::string tokenizer_class;           // may be empty
  std::optional<bool> add_bos, add_eos;  // Llama-style add_bos_token / add_eos_token
  std::optional<bool> legacy;            // T5/Llama "legacy"
  std::optional<bool> do_lower_case;
  std::optional<bool> split_by_punct;    // DebertaV2Tokenizer
};

// Token declarations read from tokenizer_config.json (added_tokens_decoder
// and the *_token keys), special_tokens_map.json and added_tokens.json,
// whichever exist. Throws ModelError on unparsable files.
struct TokenConfig {
  std::vector<std::vector<AddedToken>> sources;  // highest priority first
  TokenizerSettings settings;
};
TokenConfig read_token_config(const std::filesystem::path& dir);

// Parses one added-token declaration: a string or {"content", "lstrip", ...}.
AddedToken parse_added_token(const nlohmann::json& value, const std::string& where);

// Merges token declarations (highest priority first: the first declaration of
// a content gives its flags, the first with an id gives the id). Tokens
// without an id take `model_lookup(content)`, else the next free id after
// max(model_size, largest id), as HF does when it adds a token.
std::vector<AddedToken> merge_added_tokens(
    const std::vector<std::vector<AddedToken>>& sources,
    const std::function<std::optional<int64_t>(std::string_view)>& model_lookup,
    size_t model_size);

// Python's str.isspace for one code point.
bool is_unicode_space(char32_t c);

}  // namespace gliclass::tokenize
