// `gliclass bench`: throughput, one JSON line per measured point.
//
//   gliclass bench --config bench-models/small/config.json   random weights of
//       that shape, synthetic prompts (model forward only): texts/s and tokens/s
//   gliclass bench --model DIR --input texts.jsonl [--labels-file F]   end to end
//       through the library (tokenising, batching, scoring): texts/s
//
// Each point (threads x dtype x batch size x label count) is the median of
// --repeats timed runs after a warm-up. peak_rss_mb is the process's peak so far.
#include "bench_command.h"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "gliclass/gliclass.h"
#include "input_formats.h"
#include "io/config.h"
#include "model/model.h"
#include "model/throughput.h"
#include "runtime/linear.h"
#include "runtime/onednn_matmul.h"
#include "runtime/threads.h"

namespace gliclass::cli {
namespace {

using json = nlohmann::ordered_json;

struct BenchArgs {
  std::string config, model, input, labels_file;
  std::vector<size_t> batch_sizes{1, 8, 32};
  std::vector<size_t> label_counts{1, 4, 16, 64, 128};
  std::vector<int> threads{0};
  std::vector<std::string> dtypes{"fp32"};
  size_t texts = 32;
  size_t text_tokens = 110;
  size_t label_tokens = 4;
  int repeats = 3;
  int64_t max_batch_tokens = ClassifierOptions{}.max_batch_tokens;
};

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// The fields every point has: its coordinates, the speed, memory and kernels.
json point(int threads, DType dtype, size_t batch_size, size_t labels, size_t texts, double seconds) {
  return {{"threads", threads > 0 ? threads : runtime::available_cpus()},
          {"dtype", dtype_name(dtype)},
          {"batch_size", batch_size},
          {"labels", labels},
          {"texts", texts},
          {"texts_per_s", static_cast<double>(texts) / seconds},
          {"ms_per_text", 1e3 * seconds / static_cast<double>(texts)},
          {"peak_rss_mb", peak_rss_mb()},
          {"matmul", runtime::OneDnnMatmul::kernel(dtype)}};
}

void bench_config(const BenchArgs& a) {
  const auto config = io::GLiClassConfig::from_file(a.config);
  auto model = model::make_model(config);
  model->eval();
  for (int threads : a.threads) {
    runtime::set_threads(threads);
    for (const auto& name : a.dtypes) {
      const DType dtype = dtype_from_name(name);
      runtime::set_dtype(*model, dtype);
      for (size_t batch : a.batch_sizes)
        for (size_t labels : a.label_counts) {
          const model::SyntheticPrompt prompt{static_cast<int64_t>(labels), static_cast<int64_t>(a.label_tokens),
                                              static_cast<int64_t>(a.text_tokens)};
          const auto t = model::time_forward(*model, config, prompt, static_cast<int64_t>(batch),
                                             static_cast<int64_t>(a.texts), a.repeats);
          json line{{"config", a.config}};
          line.update(point(threads, dtype, batch, labels, static_cast<size_t>(t.texts), t.seconds));
          line["seq_len"] = prompt.length();
          line["tokens_per_s"] = static_cast<double>(t.texts * prompt.length()) / t.seconds;
          std::cout << line.dump() << std::endl;
        }
    }
  }
}

// Texts of --input, and the label pool: --labels-file, else the labels the records name.
std::pair<std::vector<std::string>, std::vector<std::string>> read_texts_and_labels(const BenchArgs& a) {
  std::ifstream in(a.input);
  if (!in) throw InputError("bench: cannot open --input " + a.input);
  RecordReader reader(in, detect_format(a.input, in), "text");
  std::vector<std::string> texts, labels;
  std::set<std::string> seen;
  InputRecord record;
  while (reader.next(record)) {
    if (!record.error.empty()) throw InputError("bench: " + a.input + " line " + std::to_string(record.line) + ": " + record.error);
    texts.push_back(record.request.text);
    for (auto& label : record.request.labels)
      if (seen.insert(label).second) labels.push_back(label);
  }
  if (!a.labels_file.empty()) labels = read_labels_file(a.labels_file);
  if (texts.empty()) throw InputError("bench: no texts in " + a.input);
  const size_t most = *std::max_element(a.label_counts.begin(), a.label_counts.end());
  if (labels.size() < most)
    throw InputError("bench: --label-counts asks for " + std::to_string(most) + " labels per text, but " +
                     (a.labels_file.empty() ? a.input + "'s records name " : a.labels_file + " has ") +
                     std::to_string(labels.size()) + " (give --labels-file)");
  return {texts, labels};
}

void bench_model(const BenchArgs& a) {
  const auto [texts, labels] = read_texts_and_labels(a);
  for (int threads : a.threads)
    for (const auto& name : a.dtypes)
      for (size_t batch : a.batch_sizes) {
        ClassifierOptions options;
        options.batch_size = static_cast<int64_t>(batch);
        options.threads = threads;
        options.dtype = dtype_from_name(name);
        options.max_batch_tokens = a.max_batch_tokens;
        auto classifier = Classifier::load(a.model, options);
        for (size_t count : a.label_counts) {
          std::vector<ClassifyRequest> requests(a.texts);
          for (size_t i = 0; i < requests.size(); ++i) {
            requests[i].text = texts[i % texts.size()];
            for (size_t k = 0; k < count; ++k) requests[i].labels.push_back(labels[(i + k) % labels.size()]);
          }
          classifier.classify({requests.begin(), requests.begin() + static_cast<long>(std::min(batch, requests.size()))});
          const double seconds = model::median_seconds([&] { classifier.classify(requests); }, a.repeats);
          json line{{"model", a.model}};
          line.update(point(threads, options.dtype, batch, count, requests.size(), seconds));
          line["max_batch_tokens"] = a.max_batch_tokens;
          std::cout << line.dump() << std::endl;
        }
      }
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "Measure throughput (texts/s) per label count, batch size, threads and dtype");
  auto* config = cmd->add_option("--config,-c", a->config, "GLiClass config.json: random weights of its shape, "
                                                           "synthetic prompts")
                     ->check(CLI::ExistingFile);
  auto* model = cmd->add_option("--model,-m", a->model, "Model directory: end to end on the texts of --input");
  config->excludes(model);
  auto* input = cmd->add_option("--input,-i", a->input, "Texts for --model (JSONL, CSV or lines)")->check(CLI::ExistingFile);
  model->needs(input);
  cmd->add_option("--labels-file", a->labels_file, "Label pool for --model (default: the labels --input's records name)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--batch-sizes", a->batch_sizes, "Texts per forward pass")->delimiter(',')->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--label-counts", a->label_counts, "Labels per text")->delimiter(',')->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads, "CPU threads (0 = every CPU this process may use)")->delimiter(',')
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--dtype", a->dtypes, "fp32, bf16 and/or int8")->delimiter(',')->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  cmd->add_option("--texts", a->texts, "Texts per timed run")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--repeats", a->repeats, "Timed runs per point (the median is reported)")->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--text-tokens", a->text_tokens, "Synthetic text length (--config)")->capture_default_str();
  cmd->add_option("--label-tokens", a->label_tokens, "Synthetic tokens per label (--config)")->capture_default_str();
  cmd->add_option("--max-batch-tokens", a->max_batch_tokens, "Padded tokens per forward pass (--model; 0 = no limit)")
      ->capture_default_str();
  cmd->callback([a, config, model, &exit_code]() {
    if (config->count() == 0 && model->count() == 0) throw CLI::RequiredError("--config or --model");
    if (!a->config.empty())
      bench_config(*a);
    else
      bench_model(*a);
    exit_code = 0;
  });
}

}  // namespace gliclass::cli
