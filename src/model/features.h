// Reading label and text features out of encoder states (the reference's
// GLiClassBaseModel._extract_class_features and GLiClassUniEncoder's segment
// ids), per row, so that a row in a padded batch gets exactly what it gets alone.
#pragma once
#include <torch/torch.h>

namespace gliclass::model {

struct ClassFeatureOptions {
  int64_t class_token_index = -1;  // <<LABEL>>
  int64_t text_token_index = -1;   // <<SEP>>
  bool average = false;            // class_token_pooling == "average"
  bool embed_class_token = true;
  bool cut_at_text_token = false;  // extract_text_features: spans stop at the first <<SEP>>
};

struct ClassFeatures {
  torch::Tensor embeddings;  // [B,K,D]; zeros for slots without a label
  torch::Tensor mask;        // [B,K] int64, 1 where slot k < number of <<LABEL>> tokens
};

// One vector per <<LABEL>> token, K = num_classes slots:
//  first:   the state at the k-th <<LABEL>> (the next token when
//           !embed_class_token; zeros if that falls past the row's end);
//  average: the mean over tokens whose running <<LABEL>> count is k+1 (minus the
//           <<LABEL>> itself when !embed_class_token), real tokens only, and
//           before the first <<SEP>> only when cut_at_text_token. Without the cut
//           the last label's span runs to the end of the row (reference quirk, kept).
ClassFeatures extract_class_features(const torch::Tensor& hidden, const torch::Tensor& input_ids,
                                     const torch::Tensor& attention_mask, int64_t num_classes,
                                     const ClassFeatureOptions& options);

// [B,L] bool: the states that "first" class features (!options.average)
// and "first" text pooling read: each label's token as above, and the
// text's first token, position 0, or with cut_at_text_token the first
// <<SEP>> (0 if none), as shift_text_tokens places it.
torch::Tensor first_token_positions(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                    const ClassFeatureOptions& options);

struct TextTokens {
  torch::Tensor tokens;  // [B,L,D]
  torch::Tensor mask;    // [B,L] int64, 1 = real text token
};

// extract_text_features: row b's tokens from its first <<SEP>> (position 0 if
// none) to its end, shifted to the front; zeros and mask 0 after them.
TextTokens shift_text_tokens(const torch::Tensor& hidden, const torch::Tensor& input_ids,
                             const torch::Tensor& attention_mask, int64_t text_token_index);

// use_segment_embeddings: 0 for labels, 1 from the first <<SEP>> (argmax:
// position 0 if none), 2 from the reference's "example start", which is the
// argmin of the <<EXAMPLE>> indicator: the first non-<<EXAMPLE>> token, so in
// practice the whole row is segment 2 as soon as one <<EXAMPLE>> is present
// (reference quirk, kept because trained weights depend on it).
torch::Tensor segment_ids(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                          int64_t text_token_index, int64_t example_token_index);

}  // namespace gliclass::model
