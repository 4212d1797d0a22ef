#include "pipeline/bi_encoder_pipeline.h"

#include <algorithm>
#include <map>

#include "gliclass/error.h"
#include "io/hub.h"
#include "pipeline/fit.h"
#include "pipeline/request_plan.h"
#include "pipeline/rac.h"
#include "pipeline/row_batches.h"
#include "pipeline/validate.h"
#include "pipeline/windows.h"
#include "runtime/linear.h"

namespace gliclass::pipeline {

// One forward-pass row: one window of a text with all of its labels.
struct BiEncoderPipeline::Row {
  size_t request = 0;
  size_t window = 0;
  int adapter = 0;
  FittedInput input;
  std::vector<torch::Tensor> labels;  // one vector per label
  std::vector<float> logits;
};

std::shared_ptr<const tokenize::Tokenizer> load_label_tokenizer(const std::filesystem::path& model_dir,
                                                                const io::GLiClassConfig& config) {
  const std::string& name = config.label_model_name;
  if (name.empty())
    throw ModelError(config.architecture_type + ": config.json has no label_model_name (the label tokenizer)");
  const std::filesystem::path inside = model_dir / name;
  if (std::filesystem::is_directory(inside)) return tokenize::Tokenizer::from_dir(inside);
  return tokenize::Tokenizer::from_dir(io::resolve_model_dir(name));
}

BiEncoderPipeline::BiEncoderPipeline(PipelineParts parts)
    : tokenizer_(std::move(parts.tokenizer)),
      label_tokenizer_(load_label_tokenizer(parts.model_dir, parts.config)),
      model_(std::dynamic_pointer_cast<model::BiEncoderImpl>(parts.model)),
      config_(std::move(parts.config)),
      options_(std::move(parts.options)),
      adapters_(std::move(parts.adapters)),
      cache_(std::make_unique<LabelCache>(options_.label_cache_bytes)) {
  if (!model_) throw ModelError("pipeline: the bi-encoder pipeline needs a bi-encoder model");
  pad_id_ = config_.pad_token_id.value_or(tokenizer_->pad_id());
  label_pad_id_ = label_tokenizer_->pad_id();
}

std::vector<torch::Tensor> BiEncoderPipeline::label_vectors(const std::vector<std::string>& labels,
                                                            int adapter) const {
  std::vector<torch::Tensor> out(labels.size());
  std::vector<size_t> missing;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (auto hit = cache_->get(adapter, labels[i]))
      out[i] = *hit;
    else
      missing.push_back(i);
  }
  std::vector<std::vector<int64_t>> ids(labels.size());
  for (size_t i : missing)
    ids[i] = label_tokenizer_->encode_with_special_tokens(labels[i], static_cast<size_t>(options_.max_length));
  std::stable_sort(missing.begin(), missing.end(), [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });

  runtime::AdapterScope scope(adapter);
  const auto batch_size = static_cast<size_t>(std::max<int64_t>(1, options_.batch_size));
  for (size_t start = 0; start < missing.size(); start += batch_size) {
    const size_t end = std::min(missing.size(), start + batch_size);
    const auto rows = static_cast<int64_t>(end - start);
    std::vector<const std::vector<int64_t>*> tokens;
    for (size_t j = start; j < end; ++j) tokens.push_back(&ids[missing[j]]);
    const auto [id_t, mask_t] = padded_batch(tokens, label_pad_id_);
    auto vectors = model_->encode_labels(id_t, mask_t);
    for (int64_t r = 0; r < rows; ++r) {
      const size_t i = missing[start + static_cast<size_t>(r)];
      out[i] = vectors[r];
      cache_->put(adapter, labels[i], vectors[r]);
    }
  }
  return out;
}

void BiEncoderPipeline::forward(std::vector<Row*>& batch) const {
  size_t max_labels = 0;
  std::vector<const std::vector<int64_t>*> tokens;
  for (const Row* r : batch) {
    tokens.push_back(&r->input.ids);
    max_labels = std::max(max_labels, r->labels.size());
  }
  const auto rows = static_cast<int64_t>(batch.size());
  auto labels_mask = torch::zeros({rows, static_cast<int64_t>(max_labels)}, torch::kLong);
  std::vector<torch::Tensor> vectors;
  for (int64_t b = 0; b < rows; ++b) {
    const Row& r = *batch[b];
    labels_mask[b].narrow(0, 0, static_cast<int64_t>(r.labels.size())).fill_(1);
    vectors.insert(vectors.end(), r.labels.begin(), r.labels.end());
  }
  model::ModelInput in;
  std::tie(in.input_ids, in.attention_mask) = padded_batch(tokens, pad_id_);
  in.labels_mask = labels_mask;
  in.num_classes = static_cast<int64_t>(max_labels);
  auto logits = model_->score(in, torch::stack(vectors)).logits.to(torch::kFloat).contiguous();
  auto la = logits.accessor<float, 2>();
  for (int64_t b = 0; b < rows; ++b) {
    Row* r = batch[b];
    r->logits.resize(r->labels.size());
    for (size_t k = 0; k < r->logits.size(); ++k) r->logits[k] = la[b][static_cast<int64_t>(k)];
  }
}

std::vector<ClassifyResult> BiEncoderPipeline::run(const std::vector<ClassifyRequest>& requests,
                                                   const ClassifyOptions& options) const {
  c10::InferenceMode inference;
  const auto max_length = static_cast<size_t>(options_.max_length);
  std::vector<RequestPlan> plans(requests.size());
  std::vector<int> adapter_of(requests.size());
  // Each distinct label of the call is encoded once (per adapter), then cached.
  std::map<int, std::vector<std::string>> distinct;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    RequestPlan& plan = plans[i];
    plan.labels = dedupe_labels(req.labels, plan.warnings);
    if (!model_->fused() && !req.examples.empty())
      plan.warnings.push_back("examples are not used by bi-encoder models (only bi-encoder-fused reads them)");
    adapter_of[i] = adapters_.count(req.adapter_id) ? adapters_.at(req.adapter_id) : 0;
    auto& list = distinct[adapter_of[i]];
    list.insert(list.end(), plan.labels.begin(), plan.labels.end());
  }
  std::map<int, std::map<std::string, torch::Tensor>> vector_of;
  for (auto& [adapter, labels] : distinct) {
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    const auto vectors = label_vectors(labels, adapter);
    for (size_t k = 0; k < labels.size(); ++k) vector_of[adapter][labels[k]] = vectors[k];
  }

  std::vector<Row> rows;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    RequestPlan& plan = plans[i];
    const int adapter = adapter_of[i];
    std::vector<torch::Tensor> vectors;
    for (const auto& label : plan.labels) vectors.push_back(vector_of[adapter].at(label));
    const std::string rac = format_rac_examples(req.rac_examples);
    const auto windows = text_windows(*tokenizer_, req.text, options.chunking);
    plan.window_logits.assign(windows.size(), {});
    for (size_t w = 0; w < windows.size(); ++w) {
      const std::string text = req.text.substr(windows[w].begin, windows[w].end - windows[w].begin) + rac;
      Row row;
      row.request = i;
      row.window = w;
      row.adapter = adapter;
      row.labels = vectors;
      row.input = fit_layout(*tokenizer_,
                             model_->fused() ? build_fused_prompt(text, plan.labels.size(), req.prompt, req.examples,
                                                                  config_.prompt_first)
                                             : build_bi_encoder_text(text, req.prompt),
                             max_length);
      rows.push_back(std::move(row));
    }
  }

  std::vector<RowShape> shapes;
  for (const auto& r : rows) shapes.push_back({r.adapter, r.input.ids.size()});
  for (const auto& indices : row_batches(shapes, options_)) {
    std::vector<Row*> batch;
    for (size_t i : indices) batch.push_back(&rows[i]);
    runtime::AdapterScope adapter(batch.front()->adapter);
    forward(batch);
  }

  for (auto& r : rows) {
    plans[r.request].window_logits[r.window] = std::move(r.logits);
    plans[r.request].truncated = plans[r.request].truncated || r.input.truncated;
  }
  return make_results(plans, requests, options);
}

}  // namespace gliclass::pipeline
