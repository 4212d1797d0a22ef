// tokenizer.json with a Unigram model (what transformers' SpmConverter /
// DebertaV2Converter write from an spm.model) converted back into a
// SentencePiece model (SpmModelSpec), so it runs exactly like the slow tokenizer:
//   vocab [[piece, score]...] -> pieces (unk_id -> UNKNOWN, special added
//     tokens -> CONTROL, other added tokens -> USER_DEFINED, <0xHH> with
//     byte_fallback -> BYTE)
//   Precompiled normalizer   -> normalizer_spec.precompiled_charsmap
//   Strip / Replace " {2,}" / WhitespaceSplit -> remove_extra_whitespaces
//   Metaspace "▁" (prepend_scheme always|never) -> escape_whitespaces,
//     add_dummy_prefix
#include <unordered_map>

#include "gliclass/error.h"
#include "tokenize/spm_proto.h"
#include "tokenize/tokenizer_json.h"

namespace gliclass::tokenize {
using nlohmann::json;

namespace {

const char kMetaspace[] = "\xE2\x96\x81";  // U+2581

[[noreturn]] void unsupported(const std::string& where, const std::string& what,
                              const char* supported) {
  throw ModelError("tokenize: " + where + ": " + what + " is not supported with a Unigram model (supported: " +
                   supported + ")");
}

void apply_normalizer(const json& n, const std::string& where, SpmModelSpec* spec) {
  if (n.is_null()) return;
  static const char* kSupported = "Sequence, Precompiled, Strip, Replace \" {2,}\", Replace \" \" -> \"\xE2\x96\x81\"";
  std::string type = json_string(n, "type", where);
  if (type == "Sequence") {
    const json& list = json_member(n, "normalizers", where);
    if (!list.is_array()) throw ModelError("tokenize: " + where + ".normalizers: expected a list");
    for (const auto& item : list) apply_normalizer(item, where, spec);
  } else if (type == "Precompiled") {
    const json& map = json_member(n, "precompiled_charsmap", where);
    if (map.is_string())
      spec->precompiled_charsmap = base64_decode(map.get<std::string>(), where + " precompiled_charsmap");
    else if (!map.is_null())
      throw ModelError("tokenize: " + where + ".precompiled_charsmap: expected a base64 string");
  } else if (type == "Strip") {
    spec->remove_extra_whitespaces = true;
  } else if (type == "Replace") {
    const json& pattern = json_member(n, "pattern", where);
    std::string content = json_string(n, "content", where);
    if (pattern.is_object() && pattern.value("Regex", "") == " {2,}" &&
        (content == " " || content == kMetaspace)) {
      spec->remove_extra_whitespaces = true;  // runs of spaces collapse
    } else if (pattern.is_object() && pattern.value("String", "") == " " && content == kMetaspace) {
      spec->escape_whitespaces = true;
    } else {
      unsupported(where, "normalizer Replace " + pattern.dump() + " -> \"" + content + "\"",
                  kSupported);
    }
  } else {
    unsupported(where, "normalizer \"" + type + "\"", kSupported);
  }
}

void apply_pre_tokenizer(const json& p, const std::string& where, SpmModelSpec* spec) {
  if (p.is_null()) return;
  static const char* kSupported = "Sequence, Metaspace (prepend_scheme always|never), WhitespaceSplit";
  std::string type = json_string(p, "type", where);
  if (type == "Sequence") {
    const json& list = json_member(p, "pretokenizers", where);
    if (!list.is_array()) throw ModelError("tokenize: " + where + ".pretokenizers: expected a list");
    for (const auto& item : list) apply_pre_tokenizer(item, where, spec);
  } else if (type == "Metaspace") {
    std::string replacement = json_string(p, "replacement", where);
    if (replacement != kMetaspace) unsupported(where, "Metaspace replacement \"" + replacement + "\"", kSupported);
    spec->escape_whitespaces = true;
    std::string scheme = "always";
    if (p.contains("prepend_scheme") && p["prepend_scheme"].is_string())
      scheme = p["prepend_scheme"].get<std::string>();
    else if (p.contains("add_prefix_space") && p["add_prefix_space"].is_boolean())
      scheme = p["add_prefix_space"].get<bool>() ? "always" : "never";
    if (scheme == "always")
      spec->add_dummy_prefix = true;
    else if (scheme == "never")
      spec->add_dummy_prefix = false;
    else
      unsupported(where, "Metaspace prepend_scheme \"" + scheme + "\"", kSupported);
  } else if (type == "WhitespaceSplit") {
    spec->remove_extra_whitespaces = true;
  } else {
    unsupported(where, "pre_tokenizer \"" + type + "\"", kSupported);
  }
}

bool is_byte_piece(const std::string& s) {  // <0xHH>
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

SpmModelSpec unigram_spec(const TokenizerJson& tj) {
  const std::string where = tj.file.string();
  const json& model = tj.doc["model"];
  const json& vocab = json_member(model, "vocab", where + " model");
  if (!vocab.is_array() || vocab.empty())
    throw ModelError("tokenize: " + where + " model.vocab: expected a non-empty list of [piece, score]");
  const json& unk = json_member(model, "unk_id", where + " model");
  if (!unk.is_number_integer() || unk.get<int64_t>() < 0 ||
      unk.get<int64_t>() >= static_cast<int64_t>(vocab.size()))
    throw ModelError("tokenize: " + where + " model.unk_id: expected an id below " +
                     std::to_string(vocab.size()) + ", got " + unk.dump());
  const size_t unk_id = unk.get<size_t>();
  const bool byte_fallback = model.value("byte_fallback", false);

  std::unordered_map<int64_t, const AddedToken*> added_by_id;
  for (const auto& t : tj.added) added_by_id.emplace(t.id, &t);

  SpmModelSpec spec;
  spec.byte_fallback = byte_fallback;
  spec.add_dummy_prefix = false;
  spec.remove_extra_whitespaces = false;
  spec.escape_whitespaces = false;
  spec.pieces.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) {
    const json& entry = vocab[i];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number())
      throw ModelError("tokenize: " + where + " model.vocab[" + std::to_string(i) +
                       "]: expected [piece, score], got " + entry.dump().substr(0, 80));
    SpmPiece p;
    p.piece = entry[0].get<std::string>();
    p.score = static_cast<float>(entry[1].get<double>());
    auto added = added_by_id.find(static_cast<int64_t>(i));
    if (i == unk_id)
      p.type = SpmPieceType::kUnknown;
    else if (added != added_by_id.end())
      p.type = added->second->special ? SpmPieceType::kControl : SpmPieceType::kUserDefined;
    else if (byte_fallback && is_byte_piece(p.piece))
      p.type = SpmPieceType::kByte;
    spec.pieces.push_back(std::move(p));
  }
  apply_normalizer(tj.doc.value("normalizer", json()), where + " normalizer", &spec);
  apply_pre_tokenizer(tj.doc.value("pre_tokenizer", json()), where + " pre_tokenizer", &spec);
  return spec;
}

}  // namespace

std::unique_ptr<Tokenizer> load_unigram_json(const TokenizerJson& tj) {
  auto model = std::make_unique<const SpmModel>(unigram_spec(tj), tj.file.string() + " (Unigram model)");
  AddedVocabulary added = build_added_vocabulary(*model, tj.added, tj.config);
  SpecialIds specials = post_processor_ids(tj);
  specials.pad_id = json_pad_id(tj, [&](std::string_view s) { return lookup_token(*model, added, s); });
  return std::make_unique<SentencePieceTokenizer>(std::move(model), std::move(added),
                                                  std::move(specials));
}

}  // namespace gliclass::tokenize
