// Encoding arbitrary bytes with every golden tokenizer (loaded once):
// SentencePiece (DeBERTa slow and fast, T5), WordPiece (BERT), byte-level BPE
// (ModernBERT's tokenizer.json, Qwen's vocab.json + merges.txt).
#include <memory>
#include <vector>

#include "fuzz_util.h"
#include "tokenize/tokenizer.h"
#include "tokenizer_checks.h"

namespace {

std::vector<std::unique_ptr<gliclass::tokenize::Tokenizer>> load_all() {
  namespace tk = gliclass::tokenize;
  const std::filesystem::path golden = std::filesystem::path(GLICLASS_SHARED_DIR) / "golden";
  std::vector<std::unique_ptr<tk::Tokenizer>> out;
  for (const char* dir : {"tiny-bert-wordpiece", "tiny-deberta-spm", "tiny-modernbert-bpe", "tiny-t5-spm"})
    out.push_back(tk::Tokenizer::from_dir(golden / "tokenizers" / dir));
  out.push_back(tk::load_sentencepiece(golden / "tokenizers" / "tiny-deberta-spm"));  // the slow one
  out.push_back(tk::Tokenizer::from_dir(golden / "qwen3_decoder_kv"));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto tokenizers = load_all();  // golden files missing: ModelError, a setup failure
  const std::string_view text = gliclass::fuzz::as_view(data, size);
  for (const auto& t : tokenizers)
    gliclass::fuzz::expect_library_errors([&] { gliclass::fuzz::check_encoding(*t, text); });
  return 0;
}
