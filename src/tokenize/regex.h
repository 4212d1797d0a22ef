// A compiled regular expression for the tokenizers' splitting patterns
// (GPT-2's pre-tokenization regex, tokenizer.json "Split"/"Replace"
// patterns): PCRE2 in UTF + UCP mode (\s, \w, \p{L} follow Unicode, as the
// Oniguruma patterns of HF tokenizers do), JIT-compiled where available.
// Immutable once built; safe to use from several threads.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gliclass::tokenize {

class Regex {
 public:
  // Throws ModelError naming `where` when the pattern does not compile.
  Regex(std::string_view pattern, const std::string& where);

  // Byte ranges [begin, end) of the successive non-overlapping matches,
  // left to right. Empty matches are reported too; the search then moves
  // on by one character.
  // Malformed UTF-8 in `text` never matches (it lies between matches).
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::string pattern_;
  std::shared_ptr<const Code> code_;
};

// `text` with every regex metacharacter escaped (a literal "String" pattern).
std::string regex_escape(std::string_view text);

}  // namespace gliclass::tokenize
