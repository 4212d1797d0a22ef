// Text being normalised and pre-tokenised, with an alignment back to the
// input (like HF tokenizers' NormalizedString): every byte of the current
// text knows the input byte range it came from, so token offsets can be
// reported in the ORIGINAL string after NFC, lowercasing, accent stripping or
// the byte-level mapping changed lengths. Plus the Unicode transforms those
// normalisers are made of (utf8proc for normal forms and categories).
#pragma once
#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gliclass::tokenize {

// A byte range of the input.
struct Span {
  size_t begin = 0;
  size_t end = 0;
};

struct NormalizedText {
  std::string text;
  std::vector<Span> spans;  // spans[i]: where text[i] came from; size == text.size()

  // `input` unchanged, each byte aligned to its whole character; spans are
  // shifted by `offset` (the input's position in a larger string).
  static NormalizedText from_input(std::string_view input, size_t offset = 0);

  bool empty() const { return text.empty(); }
  // The input range covered by bytes [begin, end) of the text (begin < end).
  Span original(size_t begin, size_t end) const;
  NormalizedText slice(size_t begin, size_t end) const;
  // Appends `bytes`, all aligned to `from`.
  void append(std::string_view bytes, Span from);
};

// ---- characters ---------------------------------------------------------------

constexpr char32_t kInvalidChar = 0xFFFFFFFF;

// The code point at byte `pos` and its length in bytes; malformed UTF-8 reads
// as kInvalidChar, one byte long.
char32_t utf8_char_at(std::string_view s, size_t pos, size_t* length);
void append_utf8(char32_t c, std::string* out);

bool is_rust_whitespace(char32_t c);   // Rust char::is_whitespace (White_Space)
bool is_control_category(char32_t c);  // general category C* (Cc, Cf, Cs, Co, Cn)
bool is_punctuation(char32_t c);       // ASCII punctuation or category P*
bool is_numeric(char32_t c);           // Rust char::is_numeric: Nd, Nl, No
bool is_mark(char32_t c);              // category M* (Mn, Mc, Me)
bool is_nonspacing_mark(char32_t c);   // category Mn
bool is_space_separator(char32_t c);   // category Zs
bool is_cjk_ideograph(char32_t c);     // BERT's _is_chinese_char blocks

// Full lowercase of one character (Rust char::to_lowercase, Python str.lower
// of a single character): simple mapping, and U+0130 -> "i\u0307".
void append_lowercase(char32_t c, std::string* out);

// ---- transforms keeping the alignment ----------------------------------------

// Each character is replaced by what `f` appends (nothing: removed); every
// output byte keeps the character's span. Malformed bytes are kept as they are.
using CharMapper = std::function<void(char32_t c, std::string* out)>;
NormalizedText map_chars(const NormalizedText& in, const CharMapper& f);

enum class UnicodeForm { kNFC, kNFD, kNFKC, kNFKD };
// Unicode normalisation, done per cluster (a character that starts a
// normalisation segment plus what can combine with it): the bytes of a
// cluster the form changes align to the cluster's whole input range, an
// unchanged cluster keeps its alignment. Equals normalising the whole string.
NormalizedText unicode_normalize(const NormalizedText& in, UnicodeForm form);
std::string unicode_normalize(std::string_view text, UnicodeForm form);

// Replaces each byte range (e.g. a Regex's find_all matches, in order) by
// `content`, aligned to the range it replaces.
NormalizedText replace_ranges(const NormalizedText& in,
                              const std::vector<std::pair<size_t, size_t>>& ranges,
                              std::string_view content);

// ---- tokenizer.json "normalizer" ---------------------------------------------

using Normalizer = std::function<void(NormalizedText*)>;

// Builds the normalizer a tokenizer.json declares (null: none). Types:
// Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace,
// Prepend, BertNormalizer, NMT, ByteLevel. Others throw ModelError naming the
// type and `where` (the file).
Normalizer build_normalizer(const nlohmann::json& spec, const std::string& where);

}  // namespace gliclass::tokenize
