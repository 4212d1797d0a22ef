#include "pipeline/encoder_decoder_pipeline.h"

#include <algorithm>

#include "pipeline/encoder_decoder_inputs.h"
#include "pipeline/request_plan.h"
#include "pipeline/row_batches.h"
#include "pipeline/rac.h"
#include "pipeline/validate.h"
#include "pipeline/windows.h"
#include "runtime/linear.h"

namespace gliclass::pipeline {
namespace {


}  // namespace

// One forward-pass row: one window of a text with one group of its labels.
struct EncoderDecoderPipeline::Row {
  RequestPlan* plan = nullptr;
  int adapter = 0;  // runtime::AdapterScope id
  size_t window = 0;
  LabelGroup group;
  FittedInput text;
  std::vector<int64_t> label_ids;
  std::vector<float> logits;
  size_t tokens() const { return text.ids.size() + label_ids.size(); }
};

EncoderDecoderPipeline::EncoderDecoderPipeline(PipelineParts parts)
    : tokenizer_(std::move(parts.tokenizer)),
      model_(std::move(parts.model)),
      config_(std::move(parts.config)),
      options_(std::move(parts.options)),
      adapters_(std::move(parts.adapters)) {
  pad_id_ = config_.pad_token_id.value_or(tokenizer_->pad_id());
}

void EncoderDecoderPipeline::forward(const std::vector<Row*>& batch) const {
  std::vector<const std::vector<int64_t>*> texts, labels;
  int64_t max_labels = 0;
  for (const Row* r : batch) {
    texts.push_back(&r->text.ids);
    labels.push_back(&r->label_ids);
    max_labels = std::max<int64_t>(max_labels, static_cast<int64_t>(r->group.end - r->group.begin));
  }
  model::ModelInput in;
  std::tie(in.input_ids, in.attention_mask) = padded_batch(texts, pad_id_);
  std::tie(in.class_input_ids, in.class_attention_mask) = padded_batch(labels, pad_id_);
  in.num_classes = max_labels;
  torch::Tensor logits = model_->forward(in).logits.to(torch::kFloat).contiguous();
  auto la = logits.accessor<float, 2>();
  for (size_t b = 0; b < batch.size(); ++b) {
    Row* r = batch[b];
    r->logits.resize(r->group.end - r->group.begin);
    for (size_t k = 0; k < r->logits.size(); ++k) r->logits[k] = la[static_cast<int64_t>(b)][static_cast<int64_t>(k)];
  }
}

void EncoderDecoderPipeline::run_rows(std::vector<Row>& rows) const {
  std::vector<RowShape> shapes;
  for (const auto& r : rows) shapes.push_back({r.adapter, r.tokens()});
  c10::InferenceMode inference;
  for (const auto& indices : row_batches(shapes, options_)) {
    std::vector<Row*> batch;
    for (size_t i : indices) batch.push_back(&rows[i]);
    runtime::AdapterScope adapter(batch.front()->adapter);
    forward(batch);
  }
  for (const auto& r : rows) {
    std::copy(r.logits.begin(), r.logits.end(), r.plan->window_logits[r.window].begin() + r.group.begin);
    r.plan->truncated = r.plan->truncated || r.text.truncated;
  }
}

std::vector<ClassifyResult> EncoderDecoderPipeline::run(const std::vector<ClassifyRequest>& requests,
                                                        const ClassifyOptions& options) const {
  const auto max_length = static_cast<size_t>(options_.max_length);
  const auto label_slots = static_cast<size_t>(config_.max_num_classes);
  std::vector<RequestPlan> plans(requests.size());
  // Rows are tokenized and run in waves, so a text of many windows against
  // many labels holds the token ids of one wave at a time.
  constexpr size_t kWaveRows = 256;
  std::vector<Row> wave;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    RequestPlan& plan = plans[i];
    plan.labels = dedupe_labels(req.labels, plan.warnings);
    plan.windows = text_windows(*tokenizer_, req.text, options.chunking);
    plan.groups = plan_decoder_label_groups(*tokenizer_, plan.labels, req.prompt, max_length, label_slots,
                                            options.labels_chunk_size);
    plan.window_logits.assign(plan.windows.size(), std::vector<float>(plan.labels.size()));
    const std::string rac = format_rac_examples(req.rac_examples);
    std::vector<std::vector<int64_t>> label_sides;
    for (const auto& g : plan.groups)
      label_sides.push_back(encode_label_side(
          *tokenizer_, std::vector<std::string>(plan.labels.begin() + g.begin, plan.labels.begin() + g.end),
          req.prompt));
    for (size_t w = 0; w < plan.windows.size(); ++w) {
      const ByteRange& range = plan.windows[w];
      const FittedInput text =
          fit_text_side(*tokenizer_, req.text.substr(range.begin, range.end - range.begin) + rac, req.examples,
                        max_length);
      for (size_t g = 0; g < plan.groups.size(); ++g) {
        Row row;
        row.plan = &plan;
        row.adapter = adapters_.count(req.adapter_id) ? adapters_.at(req.adapter_id) : 0;
        row.window = w;
        row.group = plan.groups[g];
        row.text = text;
        row.label_ids = label_sides[g];
        wave.push_back(std::move(row));
        if (wave.size() == kWaveRows) {
          run_rows(wave);
          wave.clear();
        }
      }
    }
  }
  run_rows(wave);

  return make_results(plans, requests, options);
}

}  // namespace gliclass::pipeline
