#include "pipeline/decoder_kv_pipeline.h"

#include <algorithm>

#include "pipeline/decoder_kv_input.h"
#include "pipeline/request_plan.h"
#include "pipeline/rac.h"
#include "pipeline/row_batches.h"
#include "pipeline/validate.h"
#include "pipeline/windows.h"
#include "runtime/linear.h"

namespace gliclass::pipeline {

// One forward-pass row: one window of a text with one group of its labels.
struct DecoderKVPipeline::Row {
  size_t request = 0;
  int adapter = 0;
  size_t window = 0;
  LabelGroup group;
  FittedInput input;
  std::vector<float> logits;
};

DecoderKVPipeline::DecoderKVPipeline(PipelineParts parts)
    : tokenizer_(std::move(parts.tokenizer)),
      model_(std::move(parts.model)),
      options_(std::move(parts.options)),
      adapters_(std::move(parts.adapters)) {
  // The reference pads with pad, else eos, else 0; padding never reaches a
  // real token here (rows run at their own length), so the side is moot.
  pad_id_ = parts.config.pad_token_id.value_or(tokenizer_->pad_id());
}

void DecoderKVPipeline::run_rows(std::vector<Row>& rows) const {
  std::vector<RowShape> shapes;
  for (const auto& r : rows) shapes.push_back({r.adapter, r.input.ids.size()});
  c10::InferenceMode inference;
  for (const auto& batch : row_batches(shapes, options_)) {
    const auto n = static_cast<int64_t>(batch.size());
    std::vector<const std::vector<int64_t>*> tokens;
    int64_t max_labels = 0;
    for (size_t i : batch) {
      tokens.push_back(&rows[i].input.ids);
      max_labels = std::max<int64_t>(max_labels, static_cast<int64_t>(rows[i].group.end - rows[i].group.begin));
    }
    const auto [ids, mask] = padded_batch(tokens, pad_id_);
    runtime::AdapterScope adapter(rows[batch.front()].adapter);
    model::ModelInput in;
    in.input_ids = ids;
    in.attention_mask = mask;
    in.num_classes = max_labels;
    torch::Tensor logits = model_->forward(in).logits.to(torch::kFloat).contiguous();
    auto la = logits.accessor<float, 2>();
    for (int64_t b = 0; b < n; ++b) {
      Row& r = rows[batch[b]];
      r.logits.resize(r.group.end - r.group.begin);
      for (size_t k = 0; k < r.logits.size(); ++k) r.logits[k] = la[b][static_cast<int64_t>(k)];
    }
  }
}

std::vector<ClassifyResult> DecoderKVPipeline::run(const std::vector<ClassifyRequest>& requests,
                                                   const ClassifyOptions& options) const {
  const auto max_length = static_cast<size_t>(options_.max_length);
  std::vector<RequestPlan> plans(requests.size());
  std::vector<Row> rows;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    RequestPlan& plan = plans[i];
    plan.labels = dedupe_labels(req.labels, plan.warnings);
    const std::string rac = format_rac_examples(req.rac_examples);
    plan.windows = text_windows(*tokenizer_, req.text, options.chunking);
    std::vector<std::vector<int64_t>> contexts;
    for (const auto& w : plan.windows)
      contexts.push_back(
          tokenizer_->encode(decoder_kv_context(req.prompt, req.examples, req.text.substr(w.begin, w.end - w.begin) + rac)).ids);
    size_t longest = 0;
    for (const auto& c : contexts) longest = std::max(longest, c.size());
    plan.groups = decoder_kv_label_groups(*tokenizer_, plan.labels, longest, max_length, options.labels_chunk_size);
    plan.window_logits.assign(plan.windows.size(), std::vector<float>(plan.labels.size()));
    for (const auto& g : plan.groups) {
      std::vector<std::string> group(plan.labels.begin() + g.begin, plan.labels.begin() + g.end);
      const auto label_ids = tokenizer_->encode(decoder_kv_labels(group)).ids;
      for (size_t w = 0; w < plan.windows.size(); ++w) {
        Row row;
        row.request = i;
        row.adapter = adapters_.count(req.adapter_id) ? adapters_.at(req.adapter_id) : 0;
        row.window = w;
        row.group = g;
        row.input = fit_decoder_kv(contexts[w], label_ids, max_length);
        rows.push_back(std::move(row));
      }
    }
  }
  run_rows(rows);
  for (const auto& r : rows) {
    RequestPlan& plan = plans[r.request];
    std::copy(r.logits.begin(), r.logits.end(), plan.window_logits[r.window].begin() + r.group.begin);
    plan.truncated = plan.truncated || r.input.truncated;
  }

  return make_results(plans, requests, options);
}

}  // namespace gliclass::pipeline
