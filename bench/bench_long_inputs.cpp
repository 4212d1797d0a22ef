// Long inputs: one text of --chars characters against --labels labels, in
// windows of --text-chunk-size characters and label groups that fit
// --max-length. Prints one JSON object: time, windows, label groups and the
// process's resident memory after loading and at its peak. Run it with
// different --labels (one process each) to see memory follow the group size,
// not the label count.
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "gliclass/gliclass.h"
#include "runtime/allocator.h"

namespace {

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

double current_rss_mb() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  gliclass::runtime::keep_freed_memory();
  CLI::App app{"Long text x many labels: time and peak memory"};
  std::string model;
  size_t chars = 200000, labels = 5000, chunk = 20000;
  int64_t max_length = 512;
  int threads = 0;
  app.add_option("--model,-m", model, "Model directory")->required();
  app.add_option("--chars", chars, "Characters of the text")->capture_default_str();
  app.add_option("--labels", labels, "Number of labels")->capture_default_str();
  app.add_option("--text-chunk-size", chunk, "Characters per window")->capture_default_str();
  app.add_option("--max-length", max_length, "Tokens per forward pass")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0 = all)");
  CLI11_PARSE(app, argc, argv);

  gliclass::ClassifierOptions copts;
  copts.max_length = max_length;
  copts.threads = threads;
  copts.max_labels = labels;
  const auto clf = gliclass::Classifier::load(model, copts);
  const double loaded_mb = current_rss_mb();

  gliclass::ClassifyRequest r;
  const std::string sentence = "The quick brown fox jumps over the lazy dog near the river bank. ";
  while (r.text.size() < chars) r.text += sentence;
  r.text.resize(chars);
  for (size_t i = 0; i < labels; ++i) r.labels.push_back("topic " + std::to_string(i));
  gliclass::ClassifyOptions o;
  o.chunking.size = chunk;

  const auto start = std::chrono::steady_clock::now();
  const auto res = clf.classify(r, o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << nlohmann::json{{"chars", chars},
                              {"labels", labels},
                              {"text_chunk_size", chunk},
                              {"max_length", max_length},
                              {"windows", res.windows},
                              {"label_groups", res.label_groups},
                              {"forward_rows", res.windows * res.label_groups},
                              {"seconds", secs},
                              {"rss_after_load_mb", loaded_mb},
                              {"peak_rss_mb", peak_rss_mb()}}
                   .dump()
            << std::endl;
  return 0;
}
