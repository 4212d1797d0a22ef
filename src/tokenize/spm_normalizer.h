// SentencePiece's text normaliser: the precompiled character map (e.g.
// nmt_nfkc), whitespace handling and the "▁" escape, with the byte alignment
// back to the input. Behaves like sentencepiece 0.1.97's normalizer::Normalizer.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenize/byte_trie.h"
#include "tokenize/spm_proto.h"

namespace gliclass::tokenize {

// The precompiled_charsmap blob: <uint32 trie size><darts-clone double array>
// <NUL-terminated replacement strings>. Longest-prefix rules.
class PrecompiledCharsmap {
 public:
  PrecompiledCharsmap() = default;
  // Throws ModelError naming `source` when the blob is malformed.
  PrecompiledCharsmap(std::string blob, const std::string& source);
  bool empty() const { return units_.empty(); }

  // Longest rule matching a prefix of `text`: its length and replacement;
  // length 0 when none matches.
  std::pair<size_t, std::string_view> longest_match(std::string_view text) const;

 private:
  std::vector<uint32_t> units_;  // the double array
  // The strings part, owned: a view into the blob would dangle once this
  // object is moved (a short blob lives inside the std::string itself).
  std::string replacements_;
};

class SpmNormalizer {
 public:
  // `user_defined`: pieces kept verbatim, never mapped.
  SpmNormalizer(const SpmModelSpec& spec, const ByteTrie* user_defined, const std::string& source);

  // Normalised text and, for each of its bytes plus one past the end, the
  // input byte it comes from.
  void normalize(std::string_view input, std::string* normalized,
                 std::vector<size_t>* norm_to_orig) const;

 private:
  // The normalised form of the first character(s) of `input` and how many
  // input bytes it consumes.
  std::pair<std::string_view, size_t> normalize_prefix(std::string_view input) const;

  PrecompiledCharsmap charsmap_;
  const ByteTrie* user_defined_;
  bool add_dummy_prefix_, remove_extra_whitespaces_, escape_whitespaces_,
      treat_whitespace_as_suffix_;
};

// Length of the UTF-8 sequence whose first byte is `lead` (1 for stray bytes).
inline size_t utf8_lead_length(char lead) {
  return "\1\1\1\1\1\1\1\1\1\1\1\1\2\2\3\4"[static_cast<uint8_t>(lead) >> 4];
}

}  // namespace gliclass::tokenize
