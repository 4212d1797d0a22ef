#include "tokenize/spm_normalizer.h"

#include <cstring>

#include "gliclass/error.h"

namespace gliclass::tokenize {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581, "▁"
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

bool is_trail(char c) { return (static_cast<uint8_t>(c) & 0xC0) == 0x80; }
bool valid_code_point(uint32_t c) { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); }

// Length of the valid UTF-8 character at the start of `s`, 0 if malformed
// (overlong forms and surrogates are malformed).
size_t valid_utf8_length(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i])); };
  if (b(0) < 0x80) return 1;
  if (s.size() >= 2 && (b(0) & 0xE0) == 0xC0) {
    uint32_t cp = ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    if (is_trail(s[1]) && cp >= 0x80 && valid_code_point(cp)) return 2;
  } else if (s.size() >= 3 && (b(0) & 0xF0) == 0xE0) {
    uint32_t cp = ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    if (is_trail(s[1]) && is_trail(s[2]) && cp >= 0x800 && valid_code_point(cp)) return 3;
  } else if (s.size() >= 4 && (b(0) & 0xF8) == 0xF0) {
    uint32_t cp = ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    if (is_trail(s[1]) && is_trail(s[2]) && is_trail(s[3]) && cp >= 0x10000 && valid_code_point(cp))
      return 4;
  }
  return 0;
}

// darts-clone unit fields.
bool unit_has_leaf(uint32_t u) { return ((u >> 8) & 1) == 1; }
uint32_t unit_value(uint32_t u) { return u & ((1U << 31) - 1); }
uint32_t unit_label(uint32_t u) { return u & ((1U << 31) | 0xFF); }
uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1U << 9)) >> 6); }

}  // namespace

// ---- PrecompiledCharsmap ----------------------------------------------------

PrecompiledCharsmap::PrecompiledCharsmap(std::string blob, const std::string& source) {
  uint32_t trie_size = 0;
  if (blob.size() > 4) {
    for (int i = 0; i < 4; ++i) trie_size |= static_cast<uint32_t>(static_cast<uint8_t>(blob[i])) << (8 * i);
  }
  if (blob.size() <= 4 || trie_size >= blob.size() - 4 || trie_size % 4 != 0 || trie_size == 0)
    throw ModelError("tokenize: " + source + ": precompiled_charsmap is broken (expected <uint32 size>"
                     "<double array><strings>, got " + std::to_string(blob.size()) + " bytes)");
  units_.resize(trie_size / 4);
  std::memcpy(units_.data(), blob.data() + 4, trie_size);  // little-endian, as written
  replacements_ = blob.substr(4 + trie_size);
}

std::pair<size_t, std::string_view> PrecompiledCharsmap::longest_match(std::string_view text) const {
  std::pair<size_t, std::string_view> best{0, {}};
  if (units_.empty()) return best;
  // darts-clone common-prefix search: node ^= offset, then ^= each label byte.
  size_t node = unit_offset(units_[0]);
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t c = static_cast<uint8_t>(text[i]);
    node ^= c;
    if (node >= units_.size() || unit_label(units_[node]) != c) break;
    const uint32_t unit = units_[node];
    node ^= unit_offset(unit);
    if (node >= units_.size()) break;
    if (unit_has_leaf(unit)) {
      uint32_t at = unit_value(units_[node]);
      if (at < replacements_.size()) {
        std::string_view rest = std::string_view(replacements_).substr(at);
        best = {i + 1, rest.substr(0, std::min(rest.find('\0'), rest.size()))};
      }
    }
  }
  return best;
}

// ---- SpmNormalizer ----------------------------------------------------------

SpmNormalizer::SpmNormalizer(const SpmModelSpec& spec, const ByteTrie* user_defined,
                             const std::string& source)
    : user_defined_(user_defined),
      add_dummy_prefix_(spec.add_dummy_prefix),
      remove_extra_whitespaces_(spec.remove_extra_whitespaces),
      escape_whitespaces_(spec.escape_whitespaces),
      treat_whitespace_as_suffix_(spec.treat_whitespace_as_suffix) {
  if (!spec.precompiled_charsmap.empty())
    charsmap_ = PrecompiledCharsmap(spec.precompiled_charsmap, source);
}

std::pair<std::string_view, size_t> SpmNormalizer::normalize_prefix(std::string_view input) const {
  if (input.empty()) return {{}, 0};
  if (user_defined_ && !user_defined_->empty()) {  // user-defined pieces stay as they are
    size_t longest = 0;
    user_defined_->for_each_prefix(input, [&](size_t len, int32_t) { longest = len; });
    if (longest > 0) return {input.substr(0, longest), longest};
  }
  auto [length, replacement] = charsmap_.longest_match(input);
  if (length > 0) return {replacement, length};
  size_t n = valid_utf8_length(input);
  if (n == 0) return {kReplacementChar, 1};  // malformed byte: U+FFFD for one byte
  return {input.substr(0, n), n};
}

void SpmNormalizer::normalize(std::string_view input, std::string* normalized,
                              std::vector<size_t>* norm_to_orig) const {
  normalized->clear();
  norm_to_orig->clear();
  if (input.empty()) return;
  size_t consumed = 0;
  if (remove_extra_whitespaces_) {  // leading whitespace goes
    while (!input.empty()) {
      auto [sp, n] = normalize_prefix(input);
      if (sp != " ") break;
      input.remove_prefix(n);
      consumed += n;
    }
  }
  if (input.empty()) return;

  normalized->reserve(input.size() * 3);
  norm_to_orig->reserve(input.size() * 3);
  auto append_space = [&] {
    std::string_view ws = escape_whitespaces_ ? kSpaceSymbol : std::string_view(" ");
    normalized->append(ws);
    norm_to_orig->insert(norm_to_orig->end(), ws.size(), consumed);
  };
  if (!treat_whitespace_as_suffix_ && add_dummy_prefix_) append_space();

  bool prev_space = remove_extra_whitespaces_;
  while (!input.empty()) {
    auto [sp, n] = normalize_prefix(input);
    // Runs of spaces collapse: drop leading spaces after a space.
    while (prev_space && !sp.empty() && sp.front() == ' ') sp.remove_prefix(1);
    if (!sp.empty()) {
      for (char c : sp) {
        if (escape_whitespaces_ && c == ' ') {
          normalized->append(kSpaceSymbol);
          norm_to_orig->insert(norm_to_orig->end(), kSpaceSymbol.size(), consumed);
        } else {
          normalized->push_back(c);
          norm_to_orig->push_back(consumed);
        }
      }
      prev_space = sp.back() == ' ';
    }
    consumed += n;
    input.remove_prefix(n);
    if (!remove_extra_whitespaces_) prev_space = false;
  }

  if (remove_extra_whitespaces_) {  // trailing whitespace goes
    std::string_view ws = escape_whitespaces_ ? kSpaceSymbol : std::string_view(" ");
    while (normalized->size() >= ws.size() &&
           std::string_view(*normalized).substr(normalized->size() - ws.size()) == ws) {
      size_t length = normalized->size() - ws.size();
      consumed = (*norm_to_orig)[length];
      normalized->resize(length);
      norm_to_orig->resize(length);
    }
  }
  if (treat_whitespace_as_suffix_ && add_dummy_prefix_) append_space();
  norm_to_orig->push_back(consumed);
}

}  // namespace gliclass::tokenize
