#include "pipeline/uni_encoder_pipeline.h"

#include <algorithm>

#include "pipeline/fit.h"
#include "pipeline/request_plan.h"
#include "pipeline/rac.h"
#include "pipeline/row_batches.h"
#include "pipeline/validate.h"
#include "pipeline/windows.h"
#include "runtime/linear.h"

namespace gliclass::pipeline {

// One forward-pass row: one window of a text with one group of its labels.
struct UniEncoderPipeline::Row {
  size_t request = 0;
  int adapter = 0;  // runtime::AdapterScope id
  size_t window = 0;
  LabelGroup group;
  FittedInput input;
  std::vector<float> logits;
};

UniEncoderPipeline::UniEncoderPipeline(PipelineParts parts)
    : tokenizer_(std::move(parts.tokenizer)),
      model_(std::move(parts.model)),
      config_(std::move(parts.config)),
      options_(std::move(parts.options)),
      adapters_(std::move(parts.adapters)) {
  pad_id_ = config_.pad_token_id.value_or(tokenizer_->pad_id());
}

void UniEncoderPipeline::forward(std::vector<Row*>& batch) const {
  int64_t max_labels = 0;
  std::vector<const std::vector<int64_t>*> tokens;
  for (const Row* r : batch) {
    tokens.push_back(&r->input.ids);
    max_labels = std::max<int64_t>(max_labels, r->group.end - r->group.begin);
  }
  const auto rows = static_cast<int64_t>(batch.size());
  model::ModelInput in;
  std::tie(in.input_ids, in.attention_mask) = padded_batch(tokens, pad_id_);
  in.num_classes = max_labels;
  torch::Tensor logits = model_->forward(in).logits.to(torch::kFloat).contiguous();
  auto la = logits.accessor<float, 2>();
  for (int64_t b = 0; b < rows; ++b) {
    Row* r = batch[b];
    r->logits.resize(r->group.end - r->group.begin);
    for (size_t k = 0; k < r->logits.size(); ++k) r->logits[k] = la[b][static_cast<int64_t>(k)];
  }
}

void UniEncoderPipeline::run_rows(std::vector<Row>& rows, std::vector<RequestPlan>& plans) const {
  std::vector<RowShape> shapes;
  for (const auto& r : rows) shapes.push_back({r.adapter, r.input.ids.size()});
  c10::InferenceMode inference;
  for (const auto& indices : row_batches(shapes, options_)) {
    std::vector<Row*> batch;
    for (size_t i : indices) batch.push_back(&rows[i]);
    runtime::AdapterScope adapter(batch.front()->adapter);
    forward(batch);
  }
  for (const auto& r : rows) {
    RequestPlan& plan = plans[r.request];
    std::copy(r.logits.begin(), r.logits.end(), plan.window_logits[r.window].begin() + r.group.begin);
    plan.truncated = plan.truncated || r.input.truncated;
  }
}

std::vector<ClassifyResult> UniEncoderPipeline::run(const std::vector<ClassifyRequest>& requests,
                                                    const ClassifyOptions& options) const {
  const auto max_length = static_cast<size_t>(options_.max_length);
  std::vector<RequestPlan> plans(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    RequestPlan& plan = plans[i];
    plan.labels = dedupe_labels(req.labels, plan.warnings);
    plan.rac = format_rac_examples(req.rac_examples);
    plan.windows = text_windows(*tokenizer_, req.text, options.chunking);
    const ByteRange& first = plan.windows.front();  // the longest window
    plan.groups = plan_label_groups(*tokenizer_, req.text.substr(first.begin, first.end - first.begin) + plan.rac,
                                    plan.labels, req.prompt, req.examples, max_length, options.labels_chunk_size);
    plan.window_logits.assign(plan.windows.size(), std::vector<float>(plan.labels.size()));
  }

  // Rows are tokenized and run in waves, so a text of many windows against
  // many labels holds the token ids of one wave at a time.
  constexpr size_t kWaveRows = 256;
  std::vector<Row> wave;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    const RequestPlan& plan = plans[i];
    for (size_t w = 0; w < plan.windows.size(); ++w) {
      const ByteRange& range = plan.windows[w];
      const std::string text = req.text.substr(range.begin, range.end - range.begin) + plan.rac;
      for (const auto& g : plan.groups) {
        Row row;
        row.request = i;
        row.adapter = adapters_.count(req.adapter_id) ? adapters_.at(req.adapter_id) : 0;
        row.window = w;
        row.group = g;
        std::vector<std::string> group(plan.labels.begin() + g.begin, plan.labels.begin() + g.end);
        row.input = fit_uni_encoder(*tokenizer_, text, group, req.prompt, req.examples, config_.prompt_first,
                                    max_length);
        wave.push_back(std::move(row));
        if (wave.size() == kWaveRows) {
          run_rows(wave, plans);
          wave.clear();
        }
      }
    }
  }
  run_rows(wave, plans);

  return make_results(plans, requests, options);
}

}  // namespace gliclass::pipeline
