// A model to train from scratch (issue 6, "start points"): a GLiClass config
// with a backbone of the user's shape, a SentencePiece tokenizer trained on
// the training texts, and randomly initialised weights, written as an
// ordinary checkpoint directory that `gliclass train --model` starts from.
//
// Token layout, as the reference's train.py leaves a DeBERTa-v3 tokenizer:
// spm pieces 0..V-1 ([PAD]=0 [CLS]=1 [SEP]=2 [UNK]=3), then [MASK]=V,
// <<LABEL>>=V+1, <<SEP>>=V+2, <<EXAMPLE>>=V+3; the embeddings have V+4 rows and
// class/text/example_token_index are V+1/V+2/V+3.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace gliclass::train {

struct ScratchOptions {
  std::filesystem::path config_file;  // GLiClass config.json with a nested encoder_config
  std::filesystem::path out_dir;
  // Either a tokenizer to train on these files' texts and labels (the
  // reference's training format)...
  std::vector<std::filesystem::path> corpus_files;
  int64_t vocab_size = 8000;  // SentencePiece pieces, the four specials included
  // ...or an existing tokenizer directory that already has <<LABEL>>, <<SEP>>
  // and <<EXAMPLE>> (its files are copied).
  std::filesystem::path tokenizer_dir;
  uint64_t seed = 42;
};

// Writes config.json, model.safetensors and the tokenizer files into
// out_dir (atomically). Returns the number of model parameters.
int64_t init_model_dir(const ScratchOptions& options);

// Trains `dir`/spm.model (unigram, nmt_nfkc, DeBERTa-v3's special pieces) on
// `sentences` with the gliclass-spm-train tool and writes the HF tokenizer
// config files beside it. Throws InputError when training fails.
void train_spm_tokenizer(const std::vector<std::string>& sentences, const std::filesystem::path& dir,
                         int64_t vocab_size);

// The weight initialisation of HF's _init_weights for these models: matrices
// (Linear, Embedding) ~ N(0, std²), biases 0, norm weights 1. Parameters whose
// name starts with `encoder_prefix` use encoder_std, the rest heads_std.
void init_weights(torch::nn::Module& model, const std::string& encoder_prefix, double encoder_std,
                  double heads_std, uint64_t seed);

}  // namespace gliclass::train
