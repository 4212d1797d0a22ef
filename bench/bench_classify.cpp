// Throughput benchmark: texts/second at given batch sizes and label counts.
//
//   bench_classify --model DIR [--data dev.jsonl]       end to end (tokenize + model), real texts
//   bench_classify --config bench-models/small/config.json   random weights of a published
//                                                         shape, synthetic token ids
// Prints one JSON object per (batch size, label count), plus the kernels in use.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <random>

#include "gliclass/gliclass.h"
#include "runtime/allocator.h"
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

nlohmann::json backend_info() {
  return {{"torch_threads", torch::get_num_threads()},
          {"mkldnn", torch::globalContext().userEnabledMkldnn()},
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
                 const std::vector<size_t>& label_counts, size_t n_texts, int threads) {
  for (size_t bs : batch_sizes) {
    gliclass::ClassifierOptions opts;
    opts.batch_size = static_cast<int64_t>(bs);
    opts.threads = threads;
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
      auto t0 = Clock::now();
      clf.classify(reqs);
      double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::cout << nlohmann::json{{"mode", "model"}, {"model", dir}, {"batch_size", bs}, {"labels", nl},
                                  {"texts", n_texts}, {"texts_per_s", n_texts / secs},
                                  {"backend", backend_info()}}
                       .dump()
                << std::endl;
    }
  }
}

// Random weights of a published size; synthetic ids ([CLS] labels <<SEP>> text [SEP]).
void bench_config(const std::string& file, const std::vector<size_t>& batch_sizes,
                  const std::vector<size_t>& label_counts, size_t n_texts, size_t text_tokens) {
  auto config = gliclass::io::GLiClassConfig::from_file(file);
  auto model = gliclass::model::make_model(config);
  model->eval();
  std::mt19937 rng(0);
  std::uniform_int_distribution<int64_t> word(5, std::min<int64_t>(config.vocab_size, 30000) - 1);
  const int64_t label_tokens = 3;
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
      size_t done = 0;
      auto t0 = Clock::now();
      while (done < n_texts) {
        model->forward(in);
        done += bs;
      }
      double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::cout << nlohmann::json{{"mode", "config"}, {"config", file}, {"batch_size", bs}, {"labels", nl},
                                  {"seq_len", len}, {"texts", done}, {"texts_per_s", done / secs},
                                  {"backend", backend_info()}}
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
  size_t n_texts = 64, text_tokens = 96;
  int threads = 0;
  auto* m = app.add_option("--model", model, "Model directory (end to end)");
  auto* c = app.add_option("--config", config, "GLiClass config.json (random weights)");
  m->excludes(c);
  app.add_option("--data", data, "JSONL texts for --model")->capture_default_str();
  app.add_option("--vocab", vocab, "debtags labels.json for --model")->capture_default_str();
  app.add_option("--batch-sizes", batch_sizes)->capture_default_str();
  app.add_option("--label-counts", label_counts)->capture_default_str();
  app.add_option("--texts", n_texts, "Texts per measurement")->capture_default_str();
  app.add_option("--text-tokens", text_tokens, "Synthetic text length for --config")->capture_default_str();
  app.add_option("--threads", threads, "Intra-op threads (0 = default)");
  CLI11_PARSE(app, argc, argv);
  if (threads > 0) torch::set_num_threads(threads);
  try {
    if (!model.empty())
      bench_model(model, read_debtags(data, vocab), parse_list(batch_sizes), parse_list(label_counts), n_texts,
                  threads);
    else if (!config.empty())
      bench_config(config, parse_list(batch_sizes), parse_list(label_counts), n_texts, text_tokens);
    else
      throw std::runtime_error("bench: give --model DIR or --config FILE");
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
