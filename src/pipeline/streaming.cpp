// gliclass::StreamingClassifier: per-session KV caches over a decoder-kv
// model (reference streaming/pipeline.py). Stage 1 appends each chunk's
// tokens to its session's cache at absolute positions; stage 2 runs
// "<<SEP>>l1<<LABEL>>...<<SEP>>" after the cache (or its window) without
// storing it and scores that section.
#include "gliclass/streaming.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "io/config.h"
#include "io/hub.h"
#include "io/peft_adapter.h"
#include "model/adapters.h"
#include "model/decoder_kv.h"
#include "pipeline/decoder_kv_input.h"
#include "pipeline/postprocess.h"
#include "pipeline/prompt.h"
#include "pipeline/stream_strategy.h"
#include "pipeline/validate.h"
#include "runtime/linear.h"
#include "runtime/threads.h"
#include "tokenize/tokenizer.h"

namespace gliclass {
namespace {

// ids [B, longest] right padded, and each row's length.
model::CachedRows cached_rows(const std::vector<std::vector<int64_t>>& ids) {
  model::CachedRows rows;
  size_t width = 0;
  for (const auto& v : ids) width = std::max(width, v.size());
  rows.input_ids = torch::zeros({static_cast<int64_t>(ids.size()), static_cast<int64_t>(width)}, torch::kLong);
  for (size_t b = 0; b < ids.size(); ++b) {
    rows.lengths.push_back(static_cast<int64_t>(ids[b].size()));
    if (!ids[b].empty())
      rows.input_ids[static_cast<int64_t>(b)].narrow(0, 0, static_cast<int64_t>(ids[b].size()))
          .copy_(torch::tensor(ids[b], torch::kLong));
  }
  return rows;
}

}  // namespace

struct StreamingClassifier::Impl {
  struct Session {
    explicit Session(StreamStrategy s) : strategy(std::move(s)) {}
    encoders::Qwen3KVCache cache;
    int64_t next_position = 0;  // absolute position of the next token (keeps counting past cropping)
    std::string prefix;         // prompt + examples, cached before the first chunk
    pipeline::StrategyState strategy;
  };

  std::shared_ptr<const tokenize::Tokenizer> tokenizer;
  std::shared_ptr<model::DecoderKVImpl> decoder;
  ClassifierOptions options;
  StreamOptions stream;
  std::mutex mutex;
  std::map<std::string, Session> sessions;
  std::vector<std::string> order;  // creation order of the sessions

  void check(const std::vector<StreamInput>& inputs) const;
  std::vector<StreamOutput> process(const std::vector<const StreamInput*>& batch);
};

StreamingClassifier::StreamingClassifier(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

StreamingClassifier StreamingClassifier::load(const std::string& model_or_id, const ClassifierOptions& options,
                                              const StreamOptions& stream_options) {
  if (!options.adapters.empty())
    throw InputError("options: streaming runs one model; per-request adapters are not supported (merge one instead)");
  if (stream_options.batch_size == 0) throw InputError("options: batch_size must be at least 1");
  const std::filesystem::path dir = io::resolve_model_dir(model_or_id);
  runtime::set_threads(options.threads);
  auto impl = std::make_shared<Impl>();
  impl->options = options;
  impl->stream = stream_options;
  const auto config = io::GLiClassConfig::from_file(dir / "config.json");
  if (config.architecture_type != "decoder-kv")
    throw ModelError("streaming: needs a decoder-kv model (architecture_type is \"" + config.architecture_type + "\")");
  impl->tokenizer = tokenize::Tokenizer::from_dir(dir);
  pipeline::check_special_tokens(*impl->tokenizer, config, dir);
  auto model = model::load_model(dir, config);
  if (!options.merged_adapter.empty()) model::merge_adapter(*model, io::read_peft_adapter(options.merged_adapter));
  runtime::set_dtype(*model, options.dtype);
  impl->decoder = std::dynamic_pointer_cast<model::DecoderKVImpl>(model);
  return StreamingClassifier(std::move(impl));
}

void StreamingClassifier::Impl::check(const std::vector<StreamInput>& inputs) const {
  std::set<std::string> seen;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const StreamInput& in = inputs[i];
    auto fail = [&](const std::string& what) {
      throw InputError("input " + std::to_string(i) + " (session '" + in.session_id + "'): " + what);
    };
    if (in.session_id.empty()) fail("session_id must be a non-empty string");
    if (!seen.insert(in.session_id).second) fail("session_id appears twice in one push");
    ClassifyRequest request;
    request.text = in.text;
    request.labels = in.labels;
    request.prompt = in.prompt;
    request.examples = in.examples;
    request.threshold = in.threshold;
    try {
      pipeline::validate_request(request, options);
    } catch (const InputError& e) {
      fail(e.what());
    }
    auto it = sessions.find(in.session_id);
    const std::string prefix = pipeline::decoder_kv_context(in.prompt, in.examples, "");
    if (it != sessions.end() && it->second.cache.length() > 0 && !prefix.empty() && prefix != it->second.prefix)
      fail("the prompt or examples changed on an active session (delete the session before changing them)");
  }
}

std::vector<StreamOutput> StreamingClassifier::Impl::process(const std::vector<const StreamInput*>& batch) {
  // Stage 1: the chunks (with the prefix before a session's first one) into the caches.
  std::vector<size_t> added(batch.size(), 0);
  std::vector<std::vector<int64_t>> chunk_ids;
  std::vector<size_t> updating;
  for (size_t i = 0; i < batch.size(); ++i) {
    Session& s = sessions.at(batch[i]->session_id);
    const std::string text = s.cache.length() == 0 ? s.prefix + batch[i]->text : batch[i]->text;
    if (text.empty()) continue;
    auto ids = tokenizer->encode(text).ids;
    if (ids.empty()) continue;
    updating.push_back(i);
    chunk_ids.push_back(std::move(ids));
  }
  if (!updating.empty()) {
    gliclass::model::CachedRows rows = cached_rows(chunk_ids);
    for (size_t i : updating) {
      Session& s = sessions.at(batch[i]->session_id);
      rows.start_positions.push_back(s.next_position);
      rows.caches.push_back(&s.cache);
    }
    decoder->extend_caches(rows);
    for (size_t j = 0; j < updating.size(); ++j) {
      Session& s = sessions.at(batch[updating[j]]->session_id);
      added[updating[j]] = chunk_ids[j].size();
      s.next_position += static_cast<int64_t>(chunk_ids[j].size());
      if (stream.max_cache_len > 0) s.cache.keep_last(static_cast<int64_t>(stream.max_cache_len));
    }
  }

  // Stage 2: the sessions whose strategy triggers, against their caches (or windows).
  std::vector<StreamOutput> out(batch.size());
  std::vector<size_t> triggered;
  for (size_t i = 0; i < batch.size(); ++i) {
    Session& s = sessions.at(batch[i]->session_id);
    out[i].session_id = batch[i]->session_id;
    out[i].tokens_added = added[i];
    out[i].cached_length = static_cast<size_t>(s.cache.length());
    if (!batch[i]->text.empty() && added[i] > 0 && s.strategy.should_classify(added[i], batch[i]->text))
      triggered.push_back(i);
  }
  if (triggered.empty()) return out;
  std::vector<std::vector<std::string>> labels(triggered.size());
  std::vector<std::vector<std::string>> warnings(triggered.size());
  std::vector<std::vector<int64_t>> label_ids;
  std::vector<encoders::Qwen3KVCache> windows;
  windows.reserve(triggered.size());
  int64_t most_labels = 0;
  for (size_t j = 0; j < triggered.size(); ++j) {
    const StreamInput& in = *batch[triggered[j]];
    labels[j] = pipeline::dedupe_labels(in.labels, warnings[j]);
    most_labels = std::max<int64_t>(most_labels, static_cast<int64_t>(labels[j].size()));
    label_ids.push_back(tokenizer->encode(pipeline::decoder_kv_labels(labels[j])).ids);
    Session& s = sessions.at(in.session_id);
    windows.push_back(s.cache);  // shares the tensors; keep_last replaces them in the copy only
    windows.back().keep_last(static_cast<int64_t>(s.strategy.window(static_cast<size_t>(s.cache.length()))));
  }
  gliclass::model::CachedRows rows = cached_rows(label_ids);
  for (size_t j = 0; j < triggered.size(); ++j) {
    rows.start_positions.push_back(sessions.at(batch[triggered[j]]->session_id).next_position);
    rows.caches.push_back(&windows[j]);
  }
  torch::Tensor logits = decoder->classify_after_caches(rows, most_labels).logits.to(torch::kFloat).contiguous();
  auto la = logits.accessor<float, 2>();
  for (size_t j = 0; j < triggered.size(); ++j) {
    const StreamInput& in = *batch[triggered[j]];
    std::vector<float> row(labels[j].size());
    for (size_t k = 0; k < row.size(); ++k) row[k] = la[static_cast<int64_t>(j)][static_cast<int64_t>(k)];
    ClassifyResult res = pipeline::make_result(std::move(labels[j]), {row}, in.type.value_or(stream.type),
                                               in.threshold ? in.threshold : stream.threshold);
    res.warnings = std::move(warnings[j]);
    out[triggered[j]].triggered = true;
    out[triggered[j]].predictions = std::move(res);
  }
  return out;
}

std::vector<StreamOutput> StreamingClassifier::push(const std::vector<StreamInput>& inputs) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->check(inputs);
  std::set<std::string> named;
  for (const auto& in : inputs) named.insert(in.session_id);
  for (auto it = impl_->sessions.begin(); it != impl_->sessions.end();)
    it = named.count(it->first) ? std::next(it) : impl_->sessions.erase(it);
  impl_->order.erase(std::remove_if(impl_->order.begin(), impl_->order.end(),
                                    [&](const std::string& id) { return !named.count(id); }),
                     impl_->order.end());
  for (const auto& in : inputs) {
    auto it = impl_->sessions.find(in.session_id);
    if (it == impl_->sessions.end()) {
      Impl::Session session(in.strategy.value_or(impl_->stream.default_strategy));
      it = impl_->sessions.emplace(in.session_id, std::move(session)).first;
      impl_->order.push_back(in.session_id);
    }
    // A session without cached text takes the prefix it is given now.
    const std::string prefix = pipeline::decoder_kv_context(in.prompt, in.examples, "");
    if (it->second.cache.length() == 0 && !prefix.empty()) it->second.prefix = prefix;
  }
  c10::InferenceMode inference;
  std::vector<StreamOutput> out;
  out.reserve(inputs.size());
  for (size_t start = 0; start < inputs.size(); start += impl_->stream.batch_size) {
    std::vector<const StreamInput*> batch;
    for (size_t i = start; i < std::min(inputs.size(), start + impl_->stream.batch_size); ++i) batch.push_back(&inputs[i]);
    for (auto& o : impl_->process(batch)) out.push_back(std::move(o));
  }
  return out;
}

std::vector<std::string> StreamingClassifier::active_sessions() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->order;
}

bool StreamingClassifier::delete_session(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->order.erase(std::remove(impl_->order.begin(), impl_->order.end(), session_id), impl_->order.end());
  return impl_->sessions.erase(session_id) > 0;
}

void StreamingClassifier::clear_sessions() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->sessions.clear();
  impl_->order.clear();
}

}  // namespace gliclass
