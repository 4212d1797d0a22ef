// Throughput benchmark: texts/second at given batch sizes and label counts.
//
//   bench_classify --model DIR [--data dev.jsonl]       end to end (tokenize + model), real texts
//   bench_classify --config bench-models/small/config.json   random weights of a published
//                                                         shape, synthetic token ids
// Synthetic inputs are [CLS] (<<LABEL>> + 4 tokens) x K <<SEP>> 110 text
// tokens [SEP]: L = 113 + 5K (193 at K = 16, 753 at K = 128). Each point is
// the median of --repeats timed runs after a warm-up. Prints one JSON object
// per (batch size, label count), plus the kernels and threads in use.
#include <CLI/CLI.hpp>
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>

#include "gliclass/gliclass.h"
#include "runtime/allocator.h"
#include "runtime/linear.h"
#include "runtime/onednn_matmul.h"
#include "runtime/threads.h"
#include "io/config.h"
#include "model/model.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<size_t> parse_list(const std::string& s) {
  std::vector<size_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoul(item));
  return out;
}

// The process's peak resident memory so far, in MB.
double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Which kernels ran: the linear layers' oneDNN matmul for the dtype, and the thread pool.
nlohmann::json backend_info(gliclass::DType dtype) {
  return {{"torch_threads", torch::get_num_threads()},
          {"matmul", gliclass::runtime::OneDnnMatmul::kernel(dtype)},
          {"parallel", at::get_parallel_info().substr(0, 200)}};
}

struct TextSource {
  std::vector<std::string> texts;
  std::vector<std::string> labels;
};

TextSource read_debtags(const std::string& data, const std::string& vocab) {
  TextSource src;
  std::ifstream in(data);
  if (!in) throw std::runtime_error("bench: cannot open " + data);
  std::string line;
  while (std::getline(in, line) && src.texts.size() < 4096)
    src.texts.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
  std::ifstream vin(vocab);
  if (!vin) throw std::runtime_error("bench: cannot open " + vocab);
  const auto vocabulary = nlohmann::json::parse(vin).at("vocabulary");  // a named copy: items() refers to it
  for (const auto& [tag, name] : vocabulary.items()) src.labels.push_back(name.get<std::string>());
  if (src.texts.empty() || src.labels.empty()) throw std::runtime_error("bench: no texts or no labels read");
  return src;
}

// End to end through the public API.
void bench_model(const std::string& dir, const TextSource& src, const std::vector<size_t>& batch_sizes,
                 const std::vector<size_t>& label_counts, size_t n_texts, int threads, gliclass::DType dtype,
                 int repeats, int64_t max_batch_tokens) {
  for (size_t bs : batch_sizes) {
    gliclass::ClassifierOptions opts;
    opts.batch_size = static_cast<int64_t>(bs);
    opts.threads = threads;
    opts.dtype = dtype;
    opts.max_batch_tokens = max_batch_tokens;
    opts.max_length = 1024;
    auto clf = gliclass::Classifier::load(dir, opts);
    for (size_t nl : label_counts) {
      std::vector<gliclass::ClassifyRequest> reqs;
      for (size_t i = 0; i < n_texts; ++i) {
        gliclass::ClassifyRequest r;
        r.text = src.texts[i % src.texts.size()];
        for (size_t k = 0; k < nl; ++k) r.labels.push_back(src.labels[(i + k) % src.labels.size()]);
        reqs.push_back(std::move(r));
      }
      clf.classify(std::vector<gliclass::ClassifyRequest>(reqs.begin(), reqs.begin() + std::min(bs, reqs.size())));
      std::vector<double> runs;
      for (int r = 0; r < repeats; ++r) {
        auto t0 = Clock::now();
        clf.classify(reqs);
        runs.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
      const double secs = median(runs);
      std::cout << nlohmann::json{{"mode", "model"}, {"model", dir}, {"batch_size", bs}, {"labels", nl},
                                  {"dtype", gliclass::dtype_name(dtype)}, {"max_batch_tokens", max_batch_tokens}, {"texts", n_texts},
                                  {"texts_per_s", n_texts / secs}, {"ms_per_text", 1e3 * secs / n_texts}, {"peak_rss_mb", peak_rss_mb()},
                                  {"backend", backend_info(dtype)}}
                       .dump()
                << std::endl;
    }
  }
}

// Random weights of a published size; synthetic ids ([CLS] labels <<SEP>> text [SEP]).
void bench_config(const std::string& file, const std::vector<size_t>& batch_sizes,
                  const std::vector<size_t>& label_counts, size_t n_texts, size_t text_tokens,
                  gliclass::DType dtype, int repeats) {
  auto config = gliclass::io::GLiClassConfig::from_file(file);
  auto model = gliclass::model::make_model(config);
  model->eval();
  gliclass::runtime::set_dtype(*model, dtype);
  std::mt19937 rng(0);
  std::uniform_int_distribution<int64_t> word(5, std::min<int64_t>(config.vocab_size, 30000) - 1);
  const int64_t label_tokens = 4;
  for (size_t bs : batch_sizes) {
    for (size_t nl : label_counts) {
      const int64_t len = 2 + static_cast<int64_t>(nl) * (1 + label_tokens) + 1 + static_cast<int64_t>(text_tokens);
      auto make_batch = [&](int64_t rows) {
        auto ids = torch::empty({rows, len}, torch::kLong);
        auto a = ids.accessor<int64_t, 2>();
        for (int64_t b = 0; b < rows; ++b) {
          int64_t t = 0;
          a[b][t++] = 1;
          for (size_t k = 0; k < nl; ++k) {
            a[b][t++] = config.class_token_index;
            for (int64_t j = 0; j < label_tokens; ++j) a[b][t++] = word(rng);
          }
          a[b][t++] = config.text_token_index;
          while (t < len - 1) a[b][t++] = word(rng);
          a[b][t++] = 2;
        }
        return ids;
      };
      c10::InferenceMode guard;
      gliclass::model::ModelInput in;
      in.num_classes = static_cast<int64_t>(nl);
      in.input_ids = make_batch(static_cast<int64_t>(bs));
      in.attention_mask = torch::ones_like(in.input_ids);
      model->forward(in);  // warm-up
      std::vector<double> runs;
      size_t done = 0;
      for (int r = 0; r < repeats; ++r) {
        done = 0;
        auto t0 = Clock::now();
        while (done < n_texts) {
          model->forward(in);
          done += bs;
        }
        runs.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
      const double secs = median(runs);
      std::cout << nlohmann::json{{"mode", "config"}, {"config", file}, {"batch_size", bs}, {"labels", nl},
                                  {"dtype", gliclass::dtype_name(dtype)}, {"seq_len", len}, {"texts", done},
                                  {"texts_per_s", done / secs}, {"tokens_per_s", done * len / secs},
                                  {"ms_per_text", 1e3 * secs / done}, {"peak_rss_mb", peak_rss_mb()},
                                  {"backend", backend_info(dtype)}}
                       .dump()
                << std::endl;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  gliclass::runtime::keep_freed_memory();  // as the gliclass tools do
  CLI::App app{"GLiClass throughput benchmark (texts/second)"};
  std::string model, config, data = "../shared/data/debtags/dev.jsonl",
                             vocab = "../shared/data/debtags/labels.json";
  std::string batch_sizes = "1,8,32", label_counts = "1,8,32,128";
  size_t n_texts = 64, text_tokens = 110;
  int threads = 0, repeats = 3;
  std::string dtype = "fp32";
  int64_t max_batch_tokens = gliclass::ClassifierOptions{}.max_batch_tokens;
  auto* m = app.add_option("--model", model, "Model directory (end to end)");
  auto* c = app.add_option("--config", config, "GLiClass config.json (random weights)");
  m->excludes(c);
  app.add_option("--data", data, "JSONL texts for --model")->capture_default_str();
  app.add_option("--vocab", vocab, "debtags labels.json for --model")->capture_default_str();
  app.add_option("--batch-sizes", batch_sizes)->capture_default_str();
  app.add_option("--label-counts", label_counts)->capture_default_str();
  app.add_option("--texts", n_texts, "Texts per measurement")->capture_default_str();
  app.add_option("--text-tokens", text_tokens, "Synthetic text length for --config")->capture_default_str();
  app.add_option("--threads", threads, "Intra-op threads (0 = every CPU, as the library)");
  app.add_option("--dtype", dtype, "fp32, bf16 or int8")->check(CLI::IsMember({"fp32", "bf16", "int8"}))->capture_default_str();
  app.add_option("--repeats", repeats, "Timed runs per point (the median is printed)")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-batch-tokens", max_batch_tokens, "Token budget per forward pass for --model (0 = none)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  gliclass::runtime::set_threads(threads);
  try {
    if (!model.empty())
      bench_model(model, read_debtags(data, vocab), parse_list(batch_sizes), parse_list(label_counts), n_texts,
                  threads, gliclass::dtype_from_name(dtype), repeats, max_batch_tokens);
    else if (!config.empty())
      bench_config(config, parse_list(batch_sizes), parse_list(label_counts), n_texts, text_tokens,
                   gliclass::dtype_from_name(dtype), repeats);
    else
      throw std::runtime_error("bench: give --model DIR or --config FILE");
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
