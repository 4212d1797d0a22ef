// The decoder-kv architecture (reference GLiClassDecoderKV): a causal Qwen3
// decoder reads "[prompt][examples]text<<SEP>>l1<<LABEL>>l2<<LABEL>>...<<SEP>>";
// the label section of its output (after the last <<SEP>> before the first
// <<LABEL>>) goes to the DecoderKVScorer.
// For streaming the text part can instead be kept as a per-session KV cache
// (stage 1) and "<<SEP>>l1<<LABEL>>...<<SEP>>" run after it without being
// stored (stage 2); then the scorer's section is that whole label sequence.
// Module names equal the checkpoint's after "model.": decoder_model, scorer.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "encoders/qwen3.h"
#include "io/config.h"
#include "model/decoder_kv_scorer.h"
#include "model/model.h"

namespace gliclass::model {

// Where the scorer's section of one row's ids (length `length`) starts:
// after the last `sep` before the first `label`; 0 when either is missing.
int64_t label_section_start(const int64_t* ids, int64_t length, int64_t label, int64_t sep);

// Rows that continue KV caches: ids [B,L] right padded, each row's real
// length, the absolute position of its first token, its cache.
struct CachedRows {
  torch::Tensor input_ids;
  std::vector<int64_t> lengths;
  std::vector<int64_t> start_positions;
  std::vector<encoders::Qwen3KVCache*> caches;
};

class DecoderKVImpl : public GLiClassModelImpl {
 public:
  explicit DecoderKVImpl(const io::GLiClassConfig& config);
  // Whole sequences, causal from position 0 (right padding).
  ModelOutput forward(const ModelInput& input) override;

  // Stage 1: runs each row's tokens after its cache and appends their keys
  // and values to it.
  void extend_caches(const CachedRows& rows);
  // Stage 2: each row's label sequence after its cache (the caches are not
  // changed); the whole sequence is the scorer's section.
  ModelOutput classify_after_caches(const CachedRows& rows, int64_t num_classes);

  int64_t label_token() const { return label_token_; }
  int64_t sep_token() const { return sep_token_; }

  encoders::Qwen3Model decoder_model{nullptr};
  DecoderKVScorer scorer{nullptr};

 private:
  int64_t label_token_, sep_token_;
};

std::shared_ptr<DecoderKVImpl> make_decoder_kv(const io::GLiClassConfig& config);

}  // namespace gliclass::model
