// Pre-tokenisation: cutting normalised text into the pieces the subword model
// sees, each piece keeping its alignment to the input. Mirrors HF tokenizers'
// PreTokenizedString::split and the tokenizer.json "pre_tokenizer" types.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tokenize/normalizers.h"

namespace gliclass::tokenize {

// What happens to the matched parts when a piece is split (HF's
// SplitDelimiterBehavior).
enum class SplitBehavior {
  kRemoved,             // matches dropped
  kIsolated,            // matches are pieces of their own
  kMergedWithPrevious,  // a match joins the piece before it
  kMergedWithNext,      // a match joins the piece after it
  kContiguous,          // consecutive matches form one piece
};

// A cover of a piece by byte ranges, each flagged as a match or not.
struct MatchRange {
  size_t begin = 0;
  size_t end = 0;
  bool match = false;
};

// Ranges of a regex's matches (find_all) and the text between them.
std::vector<MatchRange> cover_matches(const std::vector<std::pair<size_t, size_t>>& matches,
                                      size_t length, bool invert = false);
// Every character for which `pred` holds is a match of its own.
std::vector<MatchRange> cover_chars(const std::string& text,
                                    const std::function<bool(char32_t)>& pred);

// Appends the pieces `piece` splits into (empty ones dropped).
void split_piece(const NormalizedText& piece, const std::vector<MatchRange>& cover,
                 SplitBehavior behavior, std::vector<NormalizedText>* out);

// GPT-2's pre-tokenisation regex (the ByteLevel pre-tokenizer's).
extern const char kGpt2Pattern[];

using PreTokenizer = std::function<void(std::vector<NormalizedText>* pieces)>;

// Builds the pre-tokenizer a tokenizer.json declares (null: none). Types:
// Sequence, ByteLevel, Split, Whitespace, WhitespaceSplit, BertPreTokenizer,
// Punctuation, Digits, Metaspace, CharDelimiterSplit. Others throw
// ModelError naming the type and `where` (the file).
PreTokenizer build_pre_tokenizer(const nlohmann::json& spec, const std::string& where);

}  // namespace gliclass::tokenize
