#include "tokenize/normalizers.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace gliclass::tokenize {

// ---- NormalizedText -----------------------------------------------------------

NormalizedText NormalizedText::from_input(std::string_view input, size_t offset) {
  NormalizedText t;
  t.text.assign(input);
  t.spans.resize(input.size());
  for (size_t pos = 0; pos < input.size();) {
    size_t n = 0;
    utf8_char_at(input, pos, &n);
    for (size_t i = 0; i < n; ++i) t.spans[pos + i] = {offset + pos, offset + pos + n};
    pos += n;
  }
  return t;
}

Span NormalizedText::original(size_t begin, size_t end) const {
  if (begin >= end) {
    size_t at = begin < spans.size() ? spans[begin].begin : (spans.empty() ? 0 : spans.back().end);
    return {at, at};
  }
  Span s = spans[begin];
  for (size_t i = begin + 1; i < end; ++i) {
    s.begin = std::min(s.begin, spans[i].begin);
    s.end = std::max(s.end, spans[i].end);
  }
  return s;
}

NormalizedText NormalizedText::slice(size_t begin, size_t end) const {
  NormalizedText t;
  t.text = text.substr(begin, end - begin);
  t.spans.assign(spans.begin() + static_cast<std::ptrdiff_t>(begin),
                 spans.begin() + static_cast<std::ptrdiff_t>(end));
  return t;
}

void NormalizedText::append(std::string_view bytes, Span from) {
  text.append(bytes);
  spans.insert(spans.end(), bytes.size(), from);
}

// ---- characters ---------------------------------------------------------------

char32_t utf8_char_at(std::string_view s, size_t pos, size_t* length) {
  utf8proc_int32_t cp = 0;
  auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + pos),
                            static_cast<utf8proc_ssize_t>(s.size() - pos), &cp);
  if (n <= 0) {
    *length = 1;
    return kInvalidChar;
  }
  *length = static_cast<size_t>(n);
  return static_cast<char32_t>(cp);
}

void append_utf8(char32_t c, std::string* out) {
  utf8proc_uint8_t buf[4];
  auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(c), buf);
  out->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

namespace {

utf8proc_category_t category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

}  // namespace

bool is_rust_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool is_control_category(char32_t c) {
  switch (category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
      return true;
    default:
      return false;
  }
}

bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126))
    return true;
  auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool is_numeric(char32_t c) {
  auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

bool is_mark(char32_t c) {
  auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME;
}

bool is_nonspacing_mark(char32_t c) { return category(c) == UTF8PROC_CATEGORY_MN; }

bool is_space_separator(char32_t c) { return category(c) == UTF8PROC_CATEGORY_ZS; }

bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void append_lowercase(char32_t c, std::string* out) {
  if (c == 0x130) {  // the one unconditional multi-character lowercase (SpecialCasing.txt)
    out->append("i\xCC\x87");
    return;
  }
  append_utf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))), out);
}

// ---- transforms ---------------------------------------------------------------

NormalizedText map_chars(const NormalizedText& in, const CharMapper& f) {
  NormalizedText out;
  out.text.reserve(in.text.size());
  out.spans.reserve(in.text.size());
  std::string buf;
  for (size_t pos = 0; pos < in.text.size();) {
    size_t n = 0;
    char32_t c = utf8_char_at(in.text, pos, &n);
    if (c == kInvalidChar) {
      out.append(std::string_view(in.text).substr(pos, 1), in.spans[pos]);
    } else {
      buf.clear();
      f(c, &buf);
      out.append(buf, in.original(pos, pos + n));
    }
    pos += n;
  }
  return out;
}

namespace {

bool composes(UnicodeForm form) { return form == UnicodeForm::kNFC || form == UnicodeForm::kNFKC; }
bool compat(UnicodeForm form) { return form == UnicodeForm::kNFKC || form == UnicodeForm::kNFKD; }

int map_options(UnicodeForm form) {
  int options = UTF8PROC_STABLE | (composes(form) ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE);
  if (compat(form)) options |= UTF8PROC_COMPAT;
  return options;
}

// True when normalising may start afresh before `c`: its decomposition
// starts with a starter (combining class 0) that, for the composed forms,
// never combines with a character before it (utf8proc marks those "second"
// characters with a comb_index of 0x8000 and up; Hangul V/T jamo compose
// algorithmically). Unicode calls this a normalisation boundary.
bool starts_cluster(char32_t c, UnicodeForm form) {
  if (c < 0x80) return true;
  utf8proc_int32_t decomposed[32];
  int bound = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char(
      static_cast<utf8proc_int32_t>(c), decomposed, 32,
      static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | (compat(form) ? UTF8PROC_COMPAT : 0)),
      &bound);
  char32_t first = n > 0 ? static_cast<char32_t>(decomposed[0]) : c;
  const utf8proc_property_t* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(first));
  if (p->combining_class != 0) return false;
  if (composes(form)) {
    if ((first >= 0x1161 && first <= 0x1175) || (first >= 0x11A7 && first <= 0x11C2)) return false;
    if (p->comb_index != UINT16_MAX && p->comb_index >= 0x8000) return false;
  }
  return true;
}

void normalize_into(std::string_view bytes, UnicodeForm form, std::string* out) {
  utf8proc_uint8_t* result = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(bytes.data()),
                                    static_cast<utf8proc_ssize_t>(bytes.size()), &result,
                                    static_cast<utf8proc_option_t>(map_options(form)));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(result, &std::free);
  if (n < 0) {  // only on malformed input, which clusters never hold
    out->append(bytes);
    return;
  }
  out->append(reinterpret_cast<const char*>(result), static_cast<size_t>(n));
}

}  // namespace

NormalizedText unicode_normalize(const NormalizedText& in, UnicodeForm form) {
  NormalizedText out;
  out.text.reserve(in.text.size());
  out.spans.reserve(in.text.size());
  std::string buf;
  const std::string_view text = in.text;
  for (size_t pos = 0; pos < text.size();) {
    size_t n = 0;
    if (utf8_char_at(text, pos, &n) == kInvalidChar) {
      out.append(text.substr(pos, 1), in.spans[pos]);
      ++pos;
      continue;
    }
    size_t start = pos;
    pos += n;
    while (pos < text.size()) {
      char32_t next = utf8_char_at(text, pos, &n);
      if (next == kInvalidChar || starts_cluster(next, form)) break;
      pos += n;
    }
    std::string_view cluster = text.substr(start, pos - start);
    if (cluster.size() == 1) {  // a lone ASCII character is in every normal form
      out.append(cluster, in.spans[start]);
      continue;
    }
    buf.clear();
    normalize_into(cluster, form, &buf);
    if (buf == cluster) {  // unchanged: every byte keeps its own span
      out.text += buf;
      out.spans.insert(out.spans.end(), in.spans.begin() + static_cast<std::ptrdiff_t>(start),
                       in.spans.begin() + static_cast<std::ptrdiff_t>(pos));
    } else {
      out.append(buf, in.original(start, pos));
    }
  }
  return out;
}

std::string unicode_normalize(std::string_view text, UnicodeForm form) {
  return unicode_normalize(NormalizedText::from_input(text), form).text;
}

NormalizedText replace_ranges(const NormalizedText& in,
                              const std::vector<std::pair<size_t, size_t>>& ranges,
                              std::string_view content) {
  NormalizedText out;
  size_t copied = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin < copied) continue;  // overlapping: keep the first
    for (size_t i = copied; i < begin; ++i) out.append(std::string_view(in.text).substr(i, 1), in.spans[i]);
    out.append(content, in.original(begin, end));
    copied = end;
  }
  for (size_t i = copied; i < in.text.size(); ++i)
    out.append(std::string_view(in.text).substr(i, 1), in.spans[i]);
  return out;
}

}  // namespace gliclass::tokenize
