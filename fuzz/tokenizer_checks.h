// What every encoding must satisfy, whatever the input: one id, token and
// byte range per token, each range inside the text.
#pragma once
#include <cstdlib>
#include <string_view>

#include "tokenize/tokenizer.h"

namespace gliclass::fuzz {

inline void check_encoding(const tokenize::Tokenizer& tokenizer, std::string_view text) {
  const tokenize::Encoding enc = tokenizer.encode(text);
  const size_t n = enc.ids.size();
  if (enc.tokens.size() != n || enc.begin.size() != n || enc.end.size() != n) std::abort();
  for (size_t i = 0; i < n; ++i)
    if (enc.begin[i] > enc.end[i] || enc.end[i] > text.size()) std::abort();
  const auto ids = tokenizer.encode_with_special_tokens(text, 16);
  if (ids.size() > 16) std::abort();
}

}  // namespace gliclass::fuzz
