// tokenizer.json loading (src/tokenize/tokenizer_json.cpp and the Unigram,
// BPE and WordPiece loaders, normalizers, pre-tokenizers, post-processors),
// then encoding a few fixed strings with whatever loaded.
#include "fuzz_util.h"
#include "tokenize/tokenizer.h"
#include "tokenizer_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = gliclass::fuzz::scratch_dir();
  gliclass::fuzz::write_file(dir / "tokenizer.json", gliclass::fuzz::as_view(data, size));
  gliclass::fuzz::expect_library_errors([&] {
    auto tokenizer = gliclass::tokenize::load_tokenizer_json(dir);
    for (std::string_view text : {"", "Hello, world!", "<<LABEL>>sports<<SEP>> The match ended 2-1.",
                                  "  caf\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac  ", "\xff\xfe bad"})
      gliclass::fuzz::check_encoding(*tokenizer, text);
    (void)tokenizer->token_to_id("[UNK]");
  });
  return 0;
}
