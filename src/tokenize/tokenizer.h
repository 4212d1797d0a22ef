// Tokenizers of the checkpoints' backbones, behind one interface.
//
// The pipeline builds one string per text (labels, <<SEP>>, prompt, text,
// examples) and needs, for each token, where it came from in that string, so
// it can cut text tokens (never labels) when the input is too long.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gliclass::tokenize {

// Tokens of one string, without the template's special tokens ([CLS]/[SEP]).
struct Encoding {
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;  // piece strings, as HF's convert_ids_to_tokens
  std::vector<size_t> begin;        // byte offset in the input where the token starts
  std::vector<size_t> end;          // byte offset one past its end
  size_t size() const { return ids.size(); }
};

// The tokenizer files a model directory may carry (what from_dir reads, and
// what is copied or downloaded with a model).
const std::vector<std::string>& tokenizer_file_names();

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Loads whatever the directory ships: tokenizer.json first (like HF fast
  // tokenizers), else spm.model / spiece.model, else vocab.txt (BERT's slow
  // WordPiece tokenizer), else vocab.json + merges.txt (Qwen2's slow BPE
  // tokenizer). Throws ModelError naming the missing or broken file.
  static std::unique_ptr<Tokenizer> from_dir(const std::filesystem::path& dir);

  // Added tokens (<<LABEL>>, <<SEP>>, [MASK], ...) are split out first and map
  // to their ids; every other span goes through the model. No [CLS]/[SEP].
  virtual Encoding encode(std::string_view text) const = 0;

  // Special tokens the post-processor puts around a single sequence
  // (DeBERTa/BERT: [CLS] ... [SEP]; T5: ... </s>).
  virtual std::vector<int64_t> prefix_ids() const = 0;
  virtual std::vector<int64_t> suffix_ids() const = 0;

  // True when the suffix is left out if the text's tokens already end with
  // it (the slow T5Tokenizer's _add_eos_if_not_present).
  virtual bool suffix_only_if_absent() const { return false; }

  virtual std::optional<int64_t> token_to_id(std::string_view token) const = 0;
  virtual int64_t pad_id() const = 0;
  virtual size_t vocab_size() const = 0;

  // prefix + encode(text) + suffix, cut on the right to max_length (0 = no
  // limit) keeping the suffix, as HF's truncation=True does.
  std::vector<int64_t> encode_with_special_tokens(std::string_view text,
                                                  size_t max_length = 0) const;
  // prefix + body + suffix; the suffix is left out when the body already ends
  // with it and suffix_only_if_absent() (slow T5Tokenizer's _add_eos_if_not_present).
  std::vector<int64_t> with_special_tokens(const std::vector<int64_t>& body) const;
};

// The loaders from_dir chooses between, callable directly (each throws
// ModelError naming the missing or broken file):
// tokenizer.json (HF fast format; Unigram, BPE or WordPiece models) plus the
// config files beside it.
std::unique_ptr<Tokenizer> load_tokenizer_json(const std::filesystem::path& dir);
// spm.model / spiece.model (HF slow SentencePiece tokenizers) plus the config files.
std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& dir);
// vocab.json + merges.txt (HF slow Qwen2Tokenizer) plus the config files.
std::unique_ptr<Tokenizer> load_bpe_vocab_merges(const std::filesystem::path& dir);

}  // namespace gliclass::tokenize
