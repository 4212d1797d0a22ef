#include "model/throughput.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "gliclass/error.h"

namespace gliclass::model {
namespace {

torch::Tensor synthetic_ids(const io::GLiClassConfig& config, const SyntheticPrompt& prompt, int64_t rows) {
  std::mt19937 rng(0);
  // Words past the first few ids (special tokens); the vocabulary's start is enough.
  std::uniform_int_distribution<int64_t> word(5, std::min<int64_t>(config.vocab_size, 30000) - 1);
  const int64_t length = prompt.length();
  auto ids = torch::empty({rows, length}, torch::kLong);
  auto a = ids.accessor<int64_t, 2>();
  for (int64_t b = 0; b < rows; ++b) {
    int64_t t = 0;
    a[b][t++] = 1;  // [CLS]
    for (int64_t k = 0; k < prompt.labels; ++k) {
      a[b][t++] = config.class_token_index;
      for (int64_t j = 0; j < prompt.label_tokens; ++j) a[b][t++] = word(rng);
    }
    a[b][t++] = config.text_token_index;
    while (t < length - 1) a[b][t++] = word(rng);
    a[b][t] = 2;  // [SEP]
  }
  return ids;
}

}  // namespace

double median_seconds(const std::function<void()>& run, int repeats) {
  std::vector<double> runs;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    runs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

Timing time_forward(GLiClassModelImpl& model, const io::GLiClassConfig& config, const SyntheticPrompt& prompt,
                    int64_t batch_size, int64_t texts, int repeats) {
  if (config.architecture_type != "uni-encoder")
    throw ModelError("bench on random weights times uni-encoder configs (one prompt per text); \"" +
                     config.architecture_type + "\" needs --model with a model directory");
  if (config.vocab_size <= 5 || config.class_token_index < 0 || config.text_token_index < 0)
    throw ModelError("bench: the config needs vocab_size, class_token_index and text_token_index");
  c10::InferenceMode inference;
  ModelInput in;
  in.num_classes = prompt.labels;
  in.input_ids = synthetic_ids(config, prompt, batch_size);
  in.attention_mask = torch::ones_like(in.input_ids);
  model.forward(in);  // warm-up: kernels chosen, memory reserved
  const int64_t passes = (std::max<int64_t>(texts, 1) + batch_size - 1) / batch_size;
  const double seconds = median_seconds([&] {
    for (int64_t p = 0; p < passes; ++p) model.forward(in);
  }, repeats);
  return {passes * batch_size, seconds};
}

}  // namespace gliclass::model
