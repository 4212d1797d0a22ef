// Forward-pass rows into padded batches. Results do not depend on batch
// company (batch invariance), so rows are sorted longest first and cut into
// batches that waste little on padding; rows of different LoRA adapters
// never share a batch.
#pragma once
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "gliclass/classifier.h"

namespace gliclass::pipeline {

struct RowShape {
  int adapter = 0;    // runtime::AdapterScope id
  size_t length = 0;  // tokens
};

// Batches of indices into `rows`: at most batch_size rows and, when
// token_budget > 0, at most token_budget padded tokens (rows x the first,
// longest, row's length; a row longer than the budget goes alone).
std::vector<std::vector<size_t>> row_batches(const std::vector<RowShape>& rows, size_t batch_size,
                                             size_t token_budget);

// With options.batch_size and options.max_batch_tokens.
std::vector<std::vector<size_t>> row_batches(const std::vector<RowShape>& rows, const ClassifierOptions& options);

// Right-padded [B,L] int64 ids (pad_id past each row's end) and attention
// mask (1 on real tokens) of token rows; L = the longest row.
std::pair<torch::Tensor, torch::Tensor> padded_batch(const std::vector<const std::vector<int64_t>*>& rows,
                                                     int64_t pad_id);

}  // namespace gliclass::pipeline
