// tokenizer.json "normalizer" -> a Normalizer, step by step as HF tokenizers
// runs them (normalizers/{unicode,bert,strip,replace,prepend,...}.rs).
#include "gliclass/error.h"
#include "tokenize/byte_level.h"
#include "tokenize/normalizers.h"
#include "tokenize/regex.h"
#include "tokenize/tokenizer_json.h"

namespace gliclass::tokenize {
using nlohmann::json;

namespace {

const char* kSupportedNormalizers =
    "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend, "
    "BertNormalizer, NMT, ByteLevel";

Normalizer unicode_step(UnicodeForm form) {
  return [form](NormalizedText* t) { *t = unicode_normalize(*t, form); };
}

void lowercase(NormalizedText* t) {
  *t = map_chars(*t, [](char32_t c, std::string* out) { append_lowercase(c, out); });
}

// Leading / trailing Rust whitespace removed.
void strip(NormalizedText* t, bool left, bool right) {
  size_t begin = 0, end = t->text.size();
  if (left) {
    while (begin < end) {
      size_t n = 0;
      char32_t c = utf8_char_at(t->text, begin, &n);
      if (c == kInvalidChar || !is_rust_whitespace(c)) break;
      begin += n;
    }
  }
  if (right) {
    while (end > begin) {
      size_t p = end - 1;
      while (p > begin && (static_cast<unsigned char>(t->text[p]) & 0xC0) == 0x80) --p;
      size_t n = 0;
      char32_t c = utf8_char_at(t->text, p, &n);
      if (c == kInvalidChar || p + n != end || !is_rust_whitespace(c)) break;
      end = p;
    }
  }
  if (begin > 0 || end < t->text.size()) *t = t->slice(begin, end);
}

// BertNormalizer: clean_text, handle_chinese_chars, strip_accents (default:
// follow lowercase), lowercase, in that order.
Normalizer bert_step(const json& spec) {
  const bool clean = json_flag(spec, "clean_text", true);
  const bool chinese = json_flag(spec, "handle_chinese_chars", true);
  const bool lower = json_flag(spec, "lowercase", true);
  const bool accents = json_flag(spec, "strip_accents", lower);
  return [=](NormalizedText* t) {
    if (clean || chinese) {
      *t = map_chars(*t, [&](char32_t c, std::string* out) {
        if (clean) {
          bool keep_space = c == '\t' || c == '\n' || c == '\r';
          if (c == 0 || c == 0xFFFD || (!keep_space && is_control_category(c))) return;
          if (keep_space || is_rust_whitespace(c)) {
            out->push_back(' ');
            return;
          }
        }
        if (chinese && is_cjk_ideograph(c)) {
          out->push_back(' ');
          append_utf8(c, out);
          out->push_back(' ');
          return;
        }
        append_utf8(c, out);
      });
    }
    if (accents) {
      *t = unicode_normalize(*t, UnicodeForm::kNFD);
      *t = map_chars(*t, [](char32_t c, std::string* out) {
        if (!is_nonspacing_mark(c)) append_utf8(c, out);
      });
    }
    if (lower) lowercase(t);
  };
}

// NMT: control characters dropped, odd spaces become ' '.
void nmt(NormalizedText* t) {
  *t = map_chars(*t, [](char32_t c, std::string* out) {
    if ((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
        c == 0x8F || c == 0x9F)
      return;
    if (c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0x1680 ||
        (c >= 0x200B && c <= 0x200F) || c == 0x2028 || c == 0x2029 || c == 0x2581 ||
        c == 0xFEFF || c == 0xFFFD) {
      out->push_back(' ');
      return;
    }
    append_utf8(c, out);
  });
}

Normalizer replace_step(const json& spec, const std::string& where) {
  const json& pattern = json_member(spec, "pattern", where);
  std::string content = json_string(spec, "content", where);
  std::string regex;
  if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string())
    regex = regex_escape(pattern["String"].get<std::string>());
  else if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string())
    regex = pattern["Regex"].get<std::string>();
  else
    throw ModelError("tokenize: " + where + ".pattern: expected {\"String\": ...} or {\"Regex\": ...}, got " +
                     pattern.dump().substr(0, 80));
  Regex re(regex, where + " Replace pattern");
  return [re, content](NormalizedText* t) {
    auto matches = re.find_all(t->text);
    if (!matches.empty()) *t = replace_ranges(*t, matches, content);
  };
}

}  // namespace

Normalizer build_normalizer(const json& spec, const std::string& where) {
  if (spec.is_null()) return [](NormalizedText*) {};
  const std::string type = json_string(spec, "type", where);
  if (type == "Sequence") {
    const json& list = json_member(spec, "normalizers", where);
    if (!list.is_array()) throw ModelError("tokenize: " + where + ".normalizers: expected a list");
    std::vector<Normalizer> steps;
    for (const auto& item : list) steps.push_back(build_normalizer(item, where));
    return [steps](NormalizedText* t) {
      for (const auto& s : steps) s(t);
    };
  }
  if (type == "NFC") return unicode_step(UnicodeForm::kNFC);
  if (type == "NFD") return unicode_step(UnicodeForm::kNFD);
  if (type == "NFKC") return unicode_step(UnicodeForm::kNFKC);
  if (type == "NFKD") return unicode_step(UnicodeForm::kNFKD);
  if (type == "Lowercase") return &lowercase;
  if (type == "Strip") {
    bool left = json_flag(spec, "strip_left", true), right = json_flag(spec, "strip_right", true);
    return [left, right](NormalizedText* t) { strip(t, left, right); };
  }
  if (type == "StripAccents") {
    return [](NormalizedText* t) {
      *t = map_chars(*t, [](char32_t c, std::string* out) {
        if (!is_mark(c)) append_utf8(c, out);
      });
    };
  }
  if (type == "Replace") return replace_step(spec, where);
  if (type == "Prepend") {
    std::string prefix = json_string(spec, "prepend", where);
    return [prefix](NormalizedText* t) {
      if (t->empty()) return;
      NormalizedText out;
      Span at{t->spans.front().begin, t->spans.front().begin};
      out.append(prefix, at);
      out.text += t->text;
      out.spans.insert(out.spans.end(), t->spans.begin(), t->spans.end());
      *t = std::move(out);
    };
  }
  if (type == "BertNormalizer") return bert_step(spec);
  if (type == "NMT") return &nmt;
  if (type == "ByteLevel") return [](NormalizedText* t) { *t = to_byte_level(*t); };
  throw ModelError("tokenize: " + where + ": unsupported normalizer type \"" + type +
                   "\" (supported: " + kSupportedNormalizers + ")");
}

}  // namespace gliclass::tokenize
