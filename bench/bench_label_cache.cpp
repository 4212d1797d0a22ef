// Bi-encoder throughput with a warm label cache against a cold one (every
// label encoded again on each call), at several label counts.
//
//   bench_label_cache --model DIR [--labels 8,64,512] [--texts 32] [--repeats 3]
//
// Each call classifies --texts texts against the same K labels (one batched
// call, as a user scoring a stream against a fixed label set would). Cold:
// label_cache_bytes = 0. Warm: the cache holds the labels from a previous
// call. Each point is the median of --repeats timed calls after a warm-up;
// one JSON line per label count.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

#include "gliclass/gliclass.h"
#include "model/throughput.h"

namespace {

// Median seconds of a call, after one warm-up call (which, with a cache, fills it).
double median_seconds(const gliclass::Classifier& clf, const std::vector<gliclass::ClassifyRequest>& requests,
                      int repeats) {
  clf.classify(requests);
  return gliclass::model::median_seconds([&] { clf.classify(requests); }, repeats);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bi-encoder label cache benchmark: warm vs cold"};
  std::string model;
  std::vector<size_t> label_counts{8, 64, 512};
  size_t texts = 32;
  int repeats = 3, threads = 0;
  app.add_option("--model", model, "Bi-encoder model directory or Hub id")->required();
  app.add_option("--labels", label_counts, "Label counts, comma-separated")->delimiter(',')->capture_default_str();
  app.add_option("--texts", texts, "Texts per call")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--repeats", repeats, "Timed calls per point (median)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0 = all)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  gliclass::ClassifierOptions options;
  options.threads = threads;
  options.max_labels = 100000;
  options.label_cache_bytes = 0;
  const auto cold = gliclass::Classifier::load(model, options);
  options.label_cache_bytes = size_t{256} << 20;
  const auto warm = gliclass::Classifier::load(model, options);

  const std::vector<std::string> sentences = {
      "The committee approved the budget after a long debate about hiring.",
      "Our new phone has a brighter screen and the battery lasts two days.",
      "Heavy rain is expected across the north of the country this weekend.",
      "The striker scored twice and the home team won the cup final."};
  for (size_t k : label_counts) {
    std::vector<gliclass::ClassifyRequest> requests(texts);
    for (size_t i = 0; i < texts; ++i) {
      requests[i].text = sentences[i % sentences.size()];
      for (size_t j = 0; j < k; ++j) requests[i].labels.push_back("category number " + std::to_string(j));
    }
    const double cold_s = median_seconds(cold, requests, repeats);
    const double warm_s = median_seconds(warm, requests, repeats);
    std::cout << nlohmann::json{{"model", model},
                                {"architecture", warm.architecture()},
                                {"labels", k},
                                {"texts", texts},
                                {"cold_texts_per_s", texts / cold_s},
                                {"warm_texts_per_s", texts / warm_s},
                                {"warm_over_cold", cold_s / warm_s}}
                     .dump()
              << std::endl;
  }
  return 0;
}
