#include "pipeline/uni_encoder_pipeline.h"

#include <algorithm>

#include "pipeline/fit.h"
#include "pipeline/postprocess.h"
#include "pipeline/validate.h"

namespace gliclass::pipeline {

// One forward-pass row: a text with one group of its labels.
struct UniEncoderPipeline::Row {
  size_t request = 0;
  size_t label_begin = 0;
  size_t label_end = 0;
  FittedInput input;
  std::vector<float> logits;
};

UniEncoderPipeline::UniEncoderPipeline(std::shared_ptr<const tokenize::Tokenizer> tokenizer,
                                       model::ModelPtr model, io::GLiClassConfig config,
                                       ClassifierOptions options)
    : tokenizer_(std::move(tokenizer)),
      model_(std::move(model)),
      config_(std::move(config)),
      options_(options) {
  pad_id_ = config_.pad_token_id.value_or(tokenizer_->pad_id());
}

void UniEncoderPipeline::forward(std::vector<Row*>& batch) const {
  size_t max_len = 0;
  int64_t max_labels = 0;
  for (const Row* r : batch) {
    max_len = std::max(max_len, r->input.ids.size());
    max_labels = std::max<int64_t>(max_labels, r->label_end - r->label_begin);
  }
  const auto rows = static_cast<int64_t>(batch.size());
  auto ids = torch::full({rows, static_cast<int64_t>(max_len)}, pad_id_, torch::kLong);
  auto mask = torch::zeros({rows, static_cast<int64_t>(max_len)}, torch::kLong);
  auto ids_a = ids.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < rows; ++b) {
    const auto& v = batch[b]->input.ids;
    for (size_t t = 0; t < v.size(); ++t) {
      ids_a[b][t] = v[t];
      mask_a[b][t] = 1;
    }
  }
  model::ModelInput in;
  in.input_ids = ids;
  in.attention_mask = mask;
  in.num_classes = max_labels;
  torch::Tensor logits = model_->forward(in).logits.to(torch::kFloat).contiguous();
  auto la = logits.accessor<float, 2>();
  for (int64_t b = 0; b < rows; ++b) {
    Row* r = batch[b];
    r->logits.resize(r->label_end - r->label_begin);
    for (size_t k = 0; k < r->logits.size(); ++k) r->logits[k] = la[b][static_cast<int64_t>(k)];
  }
}

std::vector<ClassifyResult> UniEncoderPipeline::run(const std::vector<ClassifyRequest>& requests,
                                                    const ClassifyOptions& options) const {
  const auto max_length = static_cast<size_t>(options_.max_length);
  std::vector<std::vector<std::string>> labels(requests.size());
  std::vector<std::vector<std::string>> warnings(requests.size());
  std::vector<Row> rows;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    labels[i] = dedupe_labels(req.labels, warnings[i]);
    for (const auto& g : plan_label_groups(*tokenizer_, req.text, labels[i], req.prompt, req.examples,
                                           max_length)) {
      Row row;
      row.request = i;
      row.label_begin = g.begin;
      row.label_end = g.end;
      std::vector<std::string> group(labels[i].begin() + g.begin, labels[i].begin() + g.end);
      row.input = fit_uni_encoder(*tokenizer_, req.text, group, req.prompt, req.examples,
                                  config_.prompt_first, max_length);
      rows.push_back(std::move(row));
    }
  }

  // Results do not depend on batch company (batch invariance), so rows of
  // similar length are batched together to waste little on padding.
  std::vector<Row*> order;
  for (auto& r : rows) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(),
                   [](const Row* a, const Row* b) { return a->input.ids.size() > b->input.ids.size(); });
  {
    c10::InferenceMode inference;
    const size_t batch_size = static_cast<size_t>(std::max<int64_t>(1, options_.batch_size));
    const size_t token_budget = static_cast<size_t>(std::max<int64_t>(0, options_.max_batch_tokens));
    for (size_t start = 0; start < order.size();) {
      size_t n = batch_size;
      if (token_budget > 0)  // the batch's first row is its longest
        n = std::min(n, std::max<size_t>(1, token_budget / order[start]->input.ids.size()));
      const size_t end = std::min(order.size(), start + n);
      std::vector<Row*> batch(order.begin() + start, order.begin() + end);
      forward(batch);
      start = end;
    }
  }

  std::vector<std::vector<float>> logits(requests.size());
  std::vector<bool> truncated(requests.size(), false);
  for (size_t i = 0; i < requests.size(); ++i) logits[i].resize(labels[i].size());
  for (const auto& r : rows) {
    std::copy(r.logits.begin(), r.logits.end(), logits[r.request].begin() + r.label_begin);
    if (r.input.truncated) truncated[r.request] = true;
  }
  std::vector<ClassifyResult> results;
  results.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    ClassifyResult res = make_result(std::move(labels[i]), std::move(logits[i]), req.type.value_or(options.type),
                                     req.threshold ? req.threshold : options.threshold);
    res.truncated = truncated[i];
    res.warnings = std::move(warnings[i]);
    results.push_back(std::move(res));
  }
  return results;
}

}  // namespace gliclass::pipeline
