#include "train/batch.h"

#include <algorithm>

#include "gliclass/error.h"
#include "pipeline/fit.h"

namespace gliclass::train {

TrainBatch make_batch(const std::vector<TrainExample>& all, const tokenize::Tokenizer& tokenizer,
                      const io::GLiClassConfig& config, size_t max_length, bool single_label, int64_t pad_id,
                      std::vector<size_t>* dropped) {
  if (all.empty()) throw InputError("batch: no examples");
  TrainBatch batch;
  std::vector<const TrainExample*> kept;
  std::vector<std::vector<int64_t>> ids;
  size_t max_len = 0;
  int64_t max_labels = 0;
  for (const auto& ex : all) {
    try {
      auto fitted = pipeline::fit_uni_encoder(tokenizer, ex.text, ex.all_labels, ex.prompt, ex.examples,
                                              config.prompt_first, max_length);
      ids.push_back(std::move(fitted.ids));
      batch.truncated += fitted.truncated ? 1 : 0;
    } catch (const InputError& e) {
      if (!dropped) throw InputError("batch: example at line " + std::to_string(ex.line) + ": " + e.what());
      dropped->push_back(ex.line);
      continue;
    }
    kept.push_back(&ex);
    max_len = std::max(max_len, ids.back().size());
    max_labels = std::max<int64_t>(max_labels, static_cast<int64_t>(ex.all_labels.size()));
  }
  if (kept.empty()) return batch;

  const auto rows = static_cast<int64_t>(kept.size());
  auto input_ids = torch::full({rows, static_cast<int64_t>(max_len)}, pad_id, torch::kLong);
  auto attention = torch::zeros({rows, static_cast<int64_t>(max_len)}, torch::kLong);
  auto targets = torch::zeros({rows, max_labels}, torch::kFloat);
  auto mask = torch::zeros({rows, max_labels}, torch::kFloat);
  auto index = torch::zeros({rows}, torch::kLong);
  auto ids_a = input_ids.accessor<int64_t, 2>();
  auto att_a = attention.accessor<int64_t, 2>();
  auto tgt_a = targets.accessor<float, 2>();
  auto mask_a = mask.accessor<float, 2>();
  auto idx_a = index.accessor<int64_t, 1>();
  for (int64_t b = 0; b < rows; ++b) {
    const auto& row = ids[static_cast<size_t>(b)];
    for (size_t t = 0; t < row.size(); ++t) {
      ids_a[b][static_cast<int64_t>(t)] = row[t];
      att_a[b][static_cast<int64_t>(t)] = 1;
    }
    const auto& ex = *kept[static_cast<size_t>(b)];
    for (size_t k = 0; k < ex.all_labels.size(); ++k) {
      tgt_a[b][static_cast<int64_t>(k)] = ex.target(ex.all_labels[k]);
      mask_a[b][static_cast<int64_t>(k)] = 1.0f;
    }
    if (single_label) {
      const std::string& top = ex.top_label();
      idx_a[b] = std::find(ex.all_labels.begin(), ex.all_labels.end(), top) - ex.all_labels.begin();
    }
  }
  batch.input.input_ids = input_ids;
  batch.input.attention_mask = attention;
  batch.input.num_classes = max_labels;
  batch.targets = {targets, index, mask};
  return batch;
}

}  // namespace gliclass::train
