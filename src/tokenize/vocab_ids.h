// A bound on the token ids a vocabulary file may use. Ids are meant to be
// dense (0..n-1 for n entries); the id -> token tables are sized by the
// largest id, so one huge id in a small file would allocate gigabytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "gliclass/error.h"

namespace gliclass::tokenize {

// Ids of a vocabulary with `entries` tokens must be below this (a few holes
// are tolerated).
inline int64_t vocab_id_limit(size_t entries) { return static_cast<int64_t>(entries) * 2 + 1024; }

// ModelError naming `token` when `id` is negative or past vocab_id_limit.
inline void check_vocab_id(int64_t id, size_t entries, const std::string& token, const std::string& where) {
  if (id < 0)
    throw ModelError("tokenize: " + where + ": id of \"" + token + "\" is negative (" + std::to_string(id) + ")");
  const int64_t limit = vocab_id_limit(entries);
  if (id >= limit)
    throw ModelError("tokenize: " + where + ": id of \"" + token + "\" out of range (expected 0.." +
                     std::to_string(limit - 1) + " for " + std::to_string(entries) + " vocabulary entries, got " +
                     std::to_string(id) + ")");
}

}  // namespace gliclass::tokenize
