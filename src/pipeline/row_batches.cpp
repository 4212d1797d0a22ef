#include "pipeline/row_batches.h"

#include <algorithm>
#include <numeric>

namespace gliclass::pipeline {

std::vector<std::vector<size_t>> row_batches(const std::vector<RowShape>& rows, size_t batch_size,
                                             size_t token_budget) {
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (rows[a].adapter != rows[b].adapter) return rows[a].adapter < rows[b].adapter;
    return rows[a].length > rows[b].length;
  });
  batch_size = std::max<size_t>(1, batch_size);
  std::vector<std::vector<size_t>> batches;
  for (size_t start = 0; start < order.size();) {
    size_t n = batch_size;
    if (token_budget > 0) n = std::min(n, std::max<size_t>(1, token_budget / std::max<size_t>(1, rows[order[start]].length)));
    size_t end = std::min(order.size(), start + n);
    for (size_t i = start + 1; i < end; ++i)
      if (rows[order[i]].adapter != rows[order[start]].adapter) end = i;
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start), order.begin() + static_cast<std::ptrdiff_t>(end));
    start = end;
  }
  return batches;
}

std::vector<std::vector<size_t>> row_batches(const std::vector<RowShape>& rows, const ClassifierOptions& options) {
  return row_batches(rows, static_cast<size_t>(std::max<int64_t>(1, options.batch_size)),
                     static_cast<size_t>(std::max<int64_t>(0, options.max_batch_tokens)));
}

std::pair<torch::Tensor, torch::Tensor> padded_batch(const std::vector<const std::vector<int64_t>*>& rows,
                                                     int64_t pad_id) {
  size_t len = 0;
  for (const auto* r : rows) len = std::max(len, r->size());
  const auto b = static_cast<int64_t>(rows.size());
  auto ids = torch::full({b, static_cast<int64_t>(len)}, pad_id, torch::kLong);
  auto mask = torch::zeros({b, static_cast<int64_t>(len)}, torch::kLong);
  auto ids_a = ids.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& v = *rows[static_cast<size_t>(i)];
    for (size_t t = 0; t < v.size(); ++t) {
      ids_a[i][static_cast<int64_t>(t)] = v[t];
      mask_a[i][static_cast<int64_t>(t)] = 1;
    }
  }
  return {ids, mask};
}

}  // namespace gliclass::pipeline
