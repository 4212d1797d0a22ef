#include "model/features.h"

namespace gliclass::model {
namespace {

// [B,L] bool: position < the row's number of real tokens (right padding).
torch::Tensor real_positions(const torch::Tensor& attention_mask) {
  auto len = attention_mask.sum(1, /*keepdim=*/true);
  return torch::arange(attention_mask.size(1), len.options()).unsqueeze(0) < len;
}

ClassFeatures first_token_features(const torch::Tensor& hidden, const torch::Tensor& is_label,
                                   const torch::Tensor& attention_mask, int64_t num_classes,
                                   bool embed_class_token) {
  const int64_t b = hidden.size(0), l = hidden.size(1), d = hidden.size(2);
  auto rank = is_label.to(torch::kLong).cumsum(1) - 1;  // [B,L] index of the label at a <<LABEL>>
  auto k_range = torch::arange(num_classes, rank.options()).view({1, -1, 1});
  auto select = is_label.unsqueeze(1) & (rank.unsqueeze(1) == k_range);  // [B,K,L]
  auto found = select.any(2);                                             // [B,K]
  auto pos = (select.to(torch::kLong) * torch::arange(l, rank.options())).sum(2);  // [B,K]
  if (!embed_class_token) {
    // The token after the <<LABEL>>; none if that is past the row's end.
    pos = pos + 1;
    found = found & (pos < attention_mask.sum(1, /*keepdim=*/true));
    pos = pos.clamp_max(l - 1);
  }
  auto gathered = hidden.gather(1, pos.unsqueeze(-1).expand({b, num_classes, d}));
  return {gathered * found.unsqueeze(-1).to(hidden.scalar_type()), {}};
}

ClassFeatures averaged_features(const torch::Tensor& hidden, const torch::Tensor& input_ids,
                                const torch::Tensor& is_label, const torch::Tensor& attention_mask,
                                int64_t num_classes, const ClassFeatureOptions& o) {
  auto label_count = is_label.to(torch::kLong).cumsum(1);  // [B,L]
  auto before_text = torch::ones_like(is_label);
  if (o.cut_at_text_token)
    before_text = (input_ids == o.text_token_index).to(torch::kLong).cumsum(1) == 0;
  auto k_range = torch::arange(num_classes, label_count.options()).view({1, -1, 1});
  auto span = (label_count.unsqueeze(1) == k_range + 1) &
              (before_text & attention_mask.to(torch::kBool)).unsqueeze(1);  // [B,K,L]
  if (!o.embed_class_token) span = span & is_label.logical_not().unsqueeze(1);
  auto weights = span.to(hidden.scalar_type());
  auto counts = weights.sum(-1, /*keepdim=*/true).clamp_min(1);
  return {torch::bmm(weights, hidden) / counts, {}};
}

}  // namespace

ClassFeatures extract_class_features(const torch::Tensor& hidden, const torch::Tensor& input_ids,
                                     const torch::Tensor& attention_mask, int64_t num_classes,
                                     const ClassFeatureOptions& options) {
  auto is_label = (input_ids == options.class_token_index) & real_positions(attention_mask);
  ClassFeatures out =
      options.average
          ? averaged_features(hidden, input_ids, is_label, attention_mask, num_classes, options)
          : first_token_features(hidden, is_label, attention_mask, num_classes,
                                 options.embed_class_token);
  auto num_labels = is_label.sum(1, /*keepdim=*/true);
  out.mask = (torch::arange(num_classes, num_labels.options()).unsqueeze(0) < num_labels)
                 .to(torch::kLong);
  return out;
}

torch::Tensor first_token_positions(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                    const ClassFeatureOptions& options) {
  TORCH_CHECK(!options.average, "first_token_positions: averaged class features read whole spans");
  auto read = (input_ids == options.class_token_index) & real_positions(attention_mask);
  if (!options.embed_class_token && read.size(1) > 1)
    read = torch::cat({torch::zeros_like(read.narrow(1, 0, 1)), read.narrow(1, 0, read.size(1) - 1)}, 1);
  auto text = torch::zeros({read.size(0), 1}, input_ids.options());
  if (options.cut_at_text_token)
    text = (input_ids == options.text_token_index).to(torch::kInt).argmax(1, /*keepdim=*/true).to(torch::kLong);
  return read.scatter(1, text, true);
}

TextTokens shift_text_tokens(const torch::Tensor& hidden, const torch::Tensor& input_ids,
                             const torch::Tensor& attention_mask, int64_t text_token_index) {
  const int64_t b = hidden.size(0), l = hidden.size(1), d = hidden.size(2);
  // argmax of the indicator: the first <<SEP>>, or 0 when there is none.
  auto start = (input_ids == text_token_index).to(torch::kInt).argmax(1, /*keepdim=*/true);  // [B,1]
  auto len = attention_mask.sum(1, /*keepdim=*/true);
  auto j = torch::arange(l, start.options()).unsqueeze(0);                                 // [1,L]
  auto valid = j < (len - start);                                                           // [B,L]
  auto source = (start + j).clamp_max(l - 1);
  auto tokens = hidden.gather(1, source.unsqueeze(-1).expand({b, l, d})) *
                valid.unsqueeze(-1).to(hidden.scalar_type());
  return {tokens, valid.to(torch::kLong)};
}

torch::Tensor segment_ids(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                          int64_t text_token_index, int64_t example_token_index) {
  auto real = real_positions(attention_mask);
  auto is_example = (input_ids == example_token_index) & real;
  auto has_example = is_example.any(1, /*keepdim=*/true);
  // argmin over the row's own tokens of the indicator = its first non-example
  // token (0 when every token is one).
  auto example_start = (is_example.logical_not() & real).to(torch::kInt).argmax(1, true);
  auto text_start = (input_ids == text_token_index).to(torch::kInt).argmax(1, true);
  auto pos = torch::arange(input_ids.size(1), example_start.options()).unsqueeze(0);
  auto after_text = (pos >= text_start).to(torch::kLong);
  auto with_example = torch::where(pos >= example_start, torch::full_like(after_text, 2),
                                   after_text * (pos < example_start).to(torch::kLong));
  return torch::where(has_example, with_example, after_text);
}

}  // namespace gliclass::model
