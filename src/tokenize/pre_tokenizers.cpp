#include "tokenize/pre_tokenizers.h"

#include <algorithm>
#include <memory>

#include "gliclass/error.h"
#include "tokenize/byte_level.h"
#include "tokenize/regex.h"
#include "tokenize/tokenizer_json.h"

namespace gliclass::tokenize {
using nlohmann::json;

const char kGpt2Pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

std::vector<MatchRange> cover_matches(const std::vector<std::pair<size_t, size_t>>& matches,
                                      size_t length, bool invert) {
  std::vector<MatchRange> cover;
  size_t prev = 0;
  for (const auto& [begin, end] : matches) {
    if (begin > prev) cover.push_back({prev, begin, invert});
    cover.push_back({begin, end, !invert});
    prev = end;
  }
  if (prev < length) cover.push_back({prev, length, invert});
  return cover;
}

std::vector<MatchRange> cover_chars(const std::string& text,
                                    const std::function<bool(char32_t)>& pred) {
  std::vector<MatchRange> cover;
  size_t last = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t n = 0;
    char32_t c = utf8_char_at(text, pos, &n);
    if (c != kInvalidChar && pred(c)) {
      if (pos > last) cover.push_back({last, pos, false});
      cover.push_back({pos, pos + n, true});
      last = pos + n;
    }
    pos += n;
  }
  if (text.size() > last) cover.push_back({last, text.size(), false});
  return cover;
}

void split_piece(const NormalizedText& piece, const std::vector<MatchRange>& cover,
                 SplitBehavior behavior, std::vector<NormalizedText>* out) {
  // Ranges to keep, after applying the behaviour (HF NormalizedString::split).
  std::vector<std::pair<size_t, size_t>> keep;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const auto& r : cover)
        if (!r.match) keep.emplace_back(r.begin, r.end);
      break;
    case SplitBehavior::kIsolated:
      for (const auto& r : cover) keep.emplace_back(r.begin, r.end);
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const auto& r : cover) {
        if (r.match && !previous_match && !keep.empty())
          keep.back().second = r.end;
        else
          keep.emplace_back(r.begin, r.end);
        previous_match = r.match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = cover.rbegin(); it != cover.rend(); ++it) {
        if (it->match && !previous_match && !keep.empty())
          keep.back().first = it->begin;
        else
          keep.emplace_back(it->begin, it->end);
        previous_match = it->match;
      }
      std::reverse(keep.begin(), keep.end());
      break;
    case SplitBehavior::kContiguous:
      for (size_t i = 0; i < cover.size(); ++i) {
        if (i > 0 && cover[i].match == previous_match)
          keep.back().second = cover[i].end;
        else
          keep.emplace_back(cover[i].begin, cover[i].end);
        previous_match = cover[i].match;
      }
      break;
  }
  for (const auto& [begin, end] : keep)
    if (end > begin) out->push_back(piece.slice(begin, end));
}

namespace {

const char* kSupportedPreTokenizers =
    "Sequence, ByteLevel, Split, Whitespace, WhitespaceSplit, BertPreTokenizer, Punctuation, "
    "Digits, Metaspace, CharDelimiterSplit";

// Runs `f` on every piece, replacing it by the pieces `f` appends.
template <typename F>
void for_each_piece(std::vector<NormalizedText>* pieces, F&& f) {
  std::vector<NormalizedText> out;
  out.reserve(pieces->size());
  for (const auto& p : *pieces) f(p, &out);
  *pieces = std::move(out);
}

PreTokenizer char_split(std::function<bool(char32_t)> pred, SplitBehavior behavior) {
  return [pred = std::move(pred), behavior](std::vector<NormalizedText>* pieces) {
    for_each_piece(pieces, [&](const NormalizedText& p, std::vector<NormalizedText>* out) {
      split_piece(p, cover_chars(p.text, pred), behavior, out);
    });
  };
}

PreTokenizer regex_split(std::shared_ptr<const Regex> re, SplitBehavior behavior, bool invert) {
  return [re = std::move(re), behavior, invert](std::vector<NormalizedText>* pieces) {
    for_each_piece(pieces, [&](const NormalizedText& p, std::vector<NormalizedText>* out) {
      split_piece(p, cover_matches(re->find_all(p.text), p.text.size(), invert), behavior, out);
    });
  };
}

SplitBehavior parse_behavior(const json& spec, const std::string& where, SplitBehavior fallback) {
  auto it = spec.find("behavior");
  if (it == spec.end() || it->is_null()) return fallback;
  std::string name = it->is_string() ? it->get<std::string>() : it->dump();
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  throw ModelError("tokenize: " + where + ": unknown split behavior \"" + name +
                   "\" (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

// ByteLevel: a space before each piece (add_prefix_space), GPT-2's regex
// (use_regex), then every byte as its byte-level character.
PreTokenizer byte_level(const json& spec, const std::string& where) {
  const bool prefix = json_flag(spec, "add_prefix_space", true);
  std::shared_ptr<const Regex> re;
  if (json_flag(spec, "use_regex", true)) re = std::make_shared<const Regex>(kGpt2Pattern, where);
  return [prefix, re](std::vector<NormalizedText>* pieces) {
    for_each_piece(pieces, [&](const NormalizedText& p, std::vector<NormalizedText>* out) {
      NormalizedText text;
      if (prefix && p.text[0] != ' ') {
        text.append(" ", Span{p.spans[0].begin, p.spans[0].begin});
        text.text += p.text;
        text.spans.insert(text.spans.end(), p.spans.begin(), p.spans.end());
      } else {
        text = p;
      }
      std::vector<NormalizedText> parts;
      if (re)
        split_piece(text, cover_matches(re->find_all(text.text), text.text.size()),
                    SplitBehavior::kIsolated, &parts);
      else
        parts.push_back(std::move(text));
      for (const auto& part : parts) out->push_back(to_byte_level(part));
    });
  };
}

// Metaspace: spaces become the replacement character, which is prepended
// (prepend_scheme always / first = only at the input's start / never) and
// starts every piece (split).
PreTokenizer metaspace(const json& spec, const std::string& where) {
  std::string replacement = json_string(spec, "replacement", where);
  size_t n = 0;
  char32_t rep = replacement.empty() ? kInvalidChar : utf8_char_at(replacement, 0, &n);
  if (rep == kInvalidChar || n != replacement.size())
    throw ModelError("tokenize: " + where + ": Metaspace replacement must be one character, got \"" +
                     replacement + "\"");
  std::string scheme = "always";
  if (spec.contains("prepend_scheme") && spec["prepend_scheme"].is_string())
    scheme = spec["prepend_scheme"].get<std::string>();
  else if (spec.contains("add_prefix_space") && spec["add_prefix_space"].is_boolean())
    scheme = spec["add_prefix_space"].get<bool>() ? "always" : "never";
  if (scheme != "always" && scheme != "first" && scheme != "never")
    throw ModelError("tokenize: " + where + ": unknown Metaspace prepend_scheme \"" + scheme +
                     "\" (expected always, first or never)");
  const bool split = json_flag(spec, "split", true);
  return [replacement, rep, scheme, split](std::vector<NormalizedText>* pieces) {
    for_each_piece(pieces, [&](const NormalizedText& p, std::vector<NormalizedText>* out) {
      NormalizedText text = map_chars(p, [&](char32_t c, std::string* o) {
        if (c == ' ')
          o->append(replacement);
        else
          append_utf8(c, o);
      });
      bool starts = text.text.compare(0, replacement.size(), replacement) == 0;
      if (!starts && (scheme == "always" || (scheme == "first" && p.spans[0].begin == 0))) {
        NormalizedText prefixed;
        prefixed.append(replacement, Span{p.spans[0].begin, p.spans[0].begin});
        prefixed.text += text.text;
        prefixed.spans.insert(prefixed.spans.end(), text.spans.begin(), text.spans.end());
        text = std::move(prefixed);
      }
      if (split)
        split_piece(text, cover_chars(text.text, [rep](char32_t c) { return c == rep; }),
                    SplitBehavior::kMergedWithNext, out);
      else
        out->push_back(std::move(text));
    });
  };
}

PreTokenizer split(const json& spec, const std::string& where) {
  const json& pattern = json_member(spec, "pattern", where);
  std::string regex;
  if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string())
    regex = regex_escape(pattern["String"].get<std::string>());
  else if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string())
    regex = pattern["Regex"].get<std::string>();
  else
    throw ModelError("tokenize: " + where + ": Split pattern: expected {\"String\": ...} or {\"Regex\": ...}, got " +
                     pattern.dump().substr(0, 80));
  return regex_split(std::make_shared<const Regex>(regex, where + " Split"),
                     parse_behavior(spec, where, SplitBehavior::kIsolated), json_flag(spec, "invert", false));
}

}  // namespace

PreTokenizer build_pre_tokenizer(const json& spec, const std::string& where) {
  if (spec.is_null()) return [](std::vector<NormalizedText>*) {};
  const std::string type = json_string(spec, "type", where);
  if (type == "Sequence") {
    const json& list = json_member(spec, "pretokenizers", where);
    if (!list.is_array()) throw ModelError("tokenize: " + where + ".pretokenizers: expected a list");
    std::vector<PreTokenizer> steps;
    for (const auto& item : list) steps.push_back(build_pre_tokenizer(item, where));
    return [steps](std::vector<NormalizedText>* pieces) {
      for (const auto& s : steps) s(pieces);
    };
  }
  if (type == "ByteLevel") return byte_level(spec, where);
  if (type == "Split") return split(spec, where);
  if (type == "Whitespace") {
    // \w+|[^\w\s]+ with Oniguruma's Unicode \w (letters, marks, numbers,
    // connector punctuation); only the matches are kept.
    auto re = std::make_shared<const Regex>(
        "[\\p{L}\\p{M}\\p{N}\\p{Pc}]+|[^\\p{L}\\p{M}\\p{N}\\p{Pc}\\s]+", where);
    return regex_split(re, SplitBehavior::kRemoved, /*invert=*/true);
  }
  if (type == "WhitespaceSplit") return char_split(&is_rust_whitespace, SplitBehavior::kRemoved);
  if (type == "BertPreTokenizer") {
    PreTokenizer ws = char_split(&is_rust_whitespace, SplitBehavior::kRemoved);
    PreTokenizer punct = char_split(&is_punctuation, SplitBehavior::kIsolated);
    return [ws, punct](std::vector<NormalizedText>* pieces) {
      ws(pieces);
      punct(pieces);
    };
  }
  if (type == "Punctuation")
    return char_split(&is_punctuation, parse_behavior(spec, where, SplitBehavior::kIsolated));
  if (type == "Digits")
    return char_split(&is_numeric, json_flag(spec, "individual_digits", false) ? SplitBehavior::kIsolated
                                                                           : SplitBehavior::kContiguous);
  if (type == "Metaspace") return metaspace(spec, where);
  if (type == "CharDelimiterSplit") {
    std::string delim = json_string(spec, "delimiter", where);
    size_t n = 0;
    char32_t d = delim.empty() ? kInvalidChar : utf8_char_at(delim, 0, &n);
    if (d == kInvalidChar || n != delim.size())
      throw ModelError("tokenize: " + where + ": CharDelimiterSplit delimiter must be one character, got \"" +
                       delim + "\"");
    return char_split([d](char32_t c) { return c == d; }, SplitBehavior::kRemoved);
  }
  throw ModelError("tokenize: " + where + ": unsupported pre_tokenizer type \"" + type +
                   "\" (supported: " + kSupportedPreTokenizers + ")");
}

}  // namespace gliclass::tokenize
