#include "tokenize/subword_tokenizer.h"

#include <algorithm>
#include <set>

#include "tokenize/tokenizer_json.h"

namespace gliclass::tokenize {

void append_added_token(const std::vector<Segment>& segments, size_t i, size_t text_size,
                        const std::function<Span(size_t, size_t)>& to_input, Encoding* enc) {
  const Segment& s = segments[i];
  size_t begin = s.begin, end = s.end;
  if (s.token->lstrip) begin = i > 0 ? segments[i - 1].end : 0;
  if (s.token->rstrip) end = i + 1 < segments.size() ? segments[i + 1].begin : text_size;
  Span span = to_input(begin, end);
  enc->ids.push_back(s.token->id);
  enc->tokens.push_back(s.token->content);
  enc->begin.push_back(span.begin);
  enc->end.push_back(span.end);
}

SubwordTokenizer::SubwordTokenizer(std::unique_ptr<const SubwordModel> model, Normalizer normalizer,
                                   PreTokenizer pre_tokenizer, const std::vector<AddedToken>& added,
                                   const std::vector<std::string>& normalized, SpecialIds specials)
    : model_(std::move(model)),
      normalizer_(std::move(normalizer)),
      pre_tokenizer_(std::move(pre_tokenizer)),
      all_added_(added),
      specials_(std::move(specials)) {
  std::set<std::string> in_text(normalized.begin(), normalized.end());
  std::vector<AddedToken> raw, norm;
  for (const auto& t : added) {
    added_content_.emplace(t.id, t.content);
    if (!in_text.count(t.content)) {
      raw.push_back(t);
      continue;
    }
    // Matched against normalised text, so its own content is normalised too.
    NormalizedText content = NormalizedText::from_input(t.content);
    normalizer_(&content);
    AddedToken n = t;
    n.content = content.text;
    norm.push_back(std::move(n));
  }
  raw_added_ = AddedVocabulary(std::move(raw));
  norm_added_ = AddedVocabulary(std::move(norm));
}

Encoding SubwordTokenizer::encode(std::string_view text) const {
  Encoding enc;
  std::vector<Segment> segments = raw_added_.split(text);
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    if (s.token) {
      append_added_token(segments, i, text.size(),
                         [](size_t b, size_t e) { return Span{b, e}; }, &enc);
      continue;
    }
    NormalizedText n = NormalizedText::from_input(text.substr(s.begin, s.end - s.begin), s.begin);
    normalizer_(&n);
    if (n.empty()) continue;
    if (norm_added_.tokens().empty()) {
      encode_normalized(n, 0, n.text.size(), &enc);
      continue;
    }
    std::vector<Segment> inner = norm_added_.split(n.text);
    for (size_t j = 0; j < inner.size(); ++j) {
      if (inner[j].token) {
        const Segment& t = inner[j];
        append_added_token(inner, j, n.text.size(),
                           [&](size_t b, size_t e) { return n.original(b, e); }, &enc);
        enc.tokens.back() = added_content_.at(t.token->id);
      } else {
        encode_normalized(n, inner[j].begin, inner[j].end, &enc);
      }
    }
  }
  return enc;
}

void SubwordTokenizer::encode_normalized(const NormalizedText& n, size_t begin, size_t end,
                                         Encoding* enc) const {
  std::vector<NormalizedText> pieces;
  pieces.push_back(begin == 0 && end == n.text.size() ? n : n.slice(begin, end));
  pre_tokenizer_(&pieces);
  std::vector<PieceToken> tokens;
  for (const auto& piece : pieces) {
    if (piece.empty()) continue;
    tokens.clear();
    model_->tokenize(piece.text, &tokens);
    for (const auto& t : tokens) {
      Span span = piece.original(t.begin, t.end);
      enc->ids.push_back(t.id);
      enc->tokens.push_back(model_->id_to_token(t.id));
      enc->begin.push_back(span.begin);
      enc->end.push_back(span.end);
    }
  }
}

std::optional<int64_t> SubwordTokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* t = all_added_.find(token)) return t->id;
  return model_->token_to_id(token);
}

size_t SubwordTokenizer::vocab_size() const {
  return std::max<size_t>(model_->size(), static_cast<size_t>(all_added_.max_id() + 1));
}

namespace {

// The added tokens of a tokenizer.json (first) and its config files, ids
// resolved against `model`; and the contents HF matches in the normalised
// text ("normalized" as tokenizer.json declares it, else !special).
void json_added_tokens(const TokenizerJson& tj, const SubwordModel& model,
                       std::vector<AddedToken>* tokens, std::vector<std::string>* normalized) {
  std::vector<std::vector<AddedToken>> sources;
  sources.push_back(tj.added);
  sources.insert(sources.end(), tj.config.sources.begin(), tj.config.sources.end());
  *tokens = merge_added_tokens(
      sources, [&](std::string_view s) { return model.token_to_id(s); }, model.size());
  std::set<std::string> declared_raw, declared_normalized;
  auto list = tj.doc.find("added_tokens");
  if (list != tj.doc.end() && list->is_array()) {
    for (const auto& a : *list) {
      if (!a.is_object() || !a.contains("content") || !a["content"].is_string()) continue;
      auto flag = a.find("normalized");
      if (flag == a.end() || !flag->is_boolean()) continue;
      (flag->get<bool>() ? declared_normalized : declared_raw).insert(a["content"].get<std::string>());
    }
  }
  for (const auto& t : *tokens) {
    bool is_normalized = declared_normalized.count(t.content) ||
                         (!declared_raw.count(t.content) && !t.special);
    if (is_normalized) normalized->push_back(t.content);
  }
}

}  // namespace

std::unique_ptr<Tokenizer> make_json_tokenizer(const TokenizerJson& tj,
                                               std::unique_ptr<const SubwordModel> model) {
  const std::string file = tj.file.string();
  Normalizer normalizer = build_normalizer(tj.doc.value("normalizer", nlohmann::json()),
                                           file + " normalizer");
  PreTokenizer pre_tokenizer = build_pre_tokenizer(tj.doc.value("pre_tokenizer", nlohmann::json()),
                                                   file + " pre_tokenizer");
  std::vector<AddedToken> added;
  std::vector<std::string> normalized;
  json_added_tokens(tj, *model, &added, &normalized);
  SpecialIds specials = post_processor_ids(tj);
  AddedVocabulary lookup_added(added);
  specials.pad_id = json_pad_id(tj, [&](std::string_view s) -> std::optional<int64_t> {
    if (const AddedToken* t = lookup_added.find(s)) return t->id;
    return model->token_to_id(s);
  });
  return std::make_unique<SubwordTokenizer>(std::move(model), std::move(normalizer),
                                            std::move(pre_tokenizer), added, normalized,
                                            std::move(specials));
}

}  // namespace gliclass::tokenize
