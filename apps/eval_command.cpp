// `gliclass eval`: scores labelled data (the training format) with the public
// Classifier and reports metrics with the debtags convention: one decision per
// candidate label. Human-readable tables by default; with --json the last
// stdout line is one JSON object.
#include "eval_command.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>

#include "classifier_flags.h"
#include "gliclass/gliclass.h"
#include "train/data.h"
#include "train/metrics.h"
#include "train/scoring.h"

namespace gliclass::cli {
namespace {

using json = nlohmann::ordered_json;

struct EvalArgs {
  std::string model, data, heldout;
  float threshold = 0.5f;
  bool threshold_set = false;
  bool single_label = false;
  bool json_out = false;
  bool quiet = false;
  int64_t batch_size = 8;
  EngineFlags engine;
  size_t per_label = 20;
};

// Held-out label names: labels.json's "heldout_from_train", or a JSON list.
std::set<std::string> read_heldout(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError("eval: cannot open '" + path + "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number past double
    throw InputError("eval: '" + path + "' is not valid JSON (" + e.what() + ")");
  }
  if (j.is_object() && j.contains("heldout_from_train")) j = j["heldout_from_train"];
  if (!j.is_array()) throw InputError("eval: '" + path + "' must hold a list of labels or 'heldout_from_train'");
  std::set<std::string> out;
  for (const auto& l : j) {
    if (!l.is_string()) throw InputError("eval: '" + path + "' holds a label that is not a string");
    out.insert(l.get<std::string>());
  }
  return out;
}

json summary_json(const train::EvalReport& r) {
  json j = {{"examples", r.examples},
            {"decisions", r.decisions},
            {"threshold", r.threshold},
            {"micro_f1", r.micro_f1},
            {"macro_f1", r.macro_f1},
            {"precision", r.micro_precision},
            {"recall", r.micro_recall},
            {"macro_precision", r.macro_precision},
            {"macro_recall", r.macro_recall},
            {"accuracy", r.accuracy},
            {"exact_match", r.exact_match},
            {"best_threshold", r.best_threshold},
            {"best_threshold_micro_f1", r.best_micro_f1}};
  if (r.top1_accuracy) j["top1_accuracy"] = *r.top1_accuracy;
  return j;
}

void print_report(const train::EvalReport& r, size_t per_label, std::ostream& out) {
  out << std::fixed << std::setprecision(4);
  out << "examples " << r.examples << ", decisions " << r.decisions << ", threshold " << r.threshold << "\n"
      << "micro  P " << r.micro_precision << "  R " << r.micro_recall << "  F1 " << r.micro_f1 << "\n"
      << "macro  P " << r.macro_precision << "  R " << r.macro_recall << "  F1 " << r.macro_f1 << "\n"
      << "accuracy " << r.accuracy << ", exact match " << r.exact_match;
  if (r.top1_accuracy) out << ", top-1 accuracy " << *r.top1_accuracy;
  out << "\nbest threshold " << r.best_threshold << " (micro-F1 " << r.best_micro_f1 << ")\n";
  if (per_label == 0 || r.per_label.empty()) return;
  std::vector<std::pair<std::string, train::Counts>> rows(r.per_label.begin(), r.per_label.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second.support() > b.second.support(); });
  out << "\n" << std::setw(8) << "support" << std::setw(8) << "P" << std::setw(8) << "R" << std::setw(8) << "F1"
      << "  label\n";
  for (size_t i = 0; i < rows.size() && i < per_label; ++i) {
    const auto& c = rows[i].second;
    out << std::setw(8) << c.support() << std::setw(8) << std::setprecision(3) << c.precision() << std::setw(8)
        << c.recall() << std::setw(8) << c.f1() << "  " << rows[i].first << "\n";
  }
  if (rows.size() > per_label) out << "(" << rows.size() - per_label << " more labels; --per-label N shows more)\n";
}

int run_eval(const EvalArgs& a) {
  const auto examples = train::load_examples(a.data);
  ClassifierOptions copts = a.engine.options();
  copts.batch_size = a.batch_size;
  const Classifier clf = Classifier::load(a.model, copts);
  for (const auto& ex : examples) {
    try {
      clf.validate(train::to_request(ex));
    } catch (const InputError& e) {
      throw InputError("eval: " + a.data + " line " + std::to_string(ex.line) + ": " + e.what());
    }
  }
  ClassifyOptions opts;
  opts.type = a.single_label ? ClassificationType::kSingleLabel : ClassificationType::kMultiLabel;
  if (a.threshold_set || !a.single_label) opts.threshold = a.threshold;

  const auto start = std::chrono::steady_clock::now();
  auto classify = [&](std::vector<ClassifyRequest> requests) {
    for (auto& r : requests) r.adapter_id = a.engine.adapter_id();
    return clf.classify(requests, opts);
  };
  auto progress = [&](size_t done) {
    if (a.quiet) return;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "\rgliclass eval: " << done << "/" << examples.size() << " examples, "
              << static_cast<int>(static_cast<double>(done) / std::max(secs, 1e-9)) << " ex/s" << std::flush;
  };
  const auto scored = train::score_examples(examples, classify, a.single_label, 256, progress);
  if (!a.quiet) std::cerr << "\n";

  const double threshold = a.threshold;
  const auto report = train::evaluate(scored, threshold, a.single_label, {}, a.threshold_set);
  json j = summary_json(report);
  if (!a.heldout.empty()) {
    const auto heldout = read_heldout(a.heldout);
    auto seen = train::evaluate(scored, threshold, a.single_label,
                                [&](const std::string& l) { return !heldout.count(l); }, a.threshold_set);
    auto unseen = train::evaluate(scored, threshold, a.single_label,
                                  [&](const std::string& l) { return heldout.count(l) > 0; }, a.threshold_set);
    j["seen"] = summary_json(seen);
    j["heldout"] = summary_json(unseen);
    if (!a.json_out) {
      std::cout << "== seen labels\n";
      print_report(seen, 0, std::cout);
      std::cout << "== held-out labels\n";
      print_report(unseen, 0, std::cout);
      std::cout << "== all labels\n";
    }
  }
  if (a.json_out) {
    json labels = json::object();
    for (const auto& [label, c] : report.per_label)
      labels[label] = {{"support", c.support()}, {"precision", c.precision()}, {"recall", c.recall()}, {"f1", c.f1()},
                       {"tp", c.tp}, {"fp", c.fp}, {"fn", c.fn}};
    j["per_label"] = labels;
    std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
  } else {
    print_report(report, a.per_label, std::cout);
  }
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("eval", "Metrics of a model on labelled data (one decision per candidate label)");
  cmd->add_option("--model,-m", args->model, "Model directory (Hugging Face layout)")->required();
  cmd->add_option("--data,-d", args->data, "Labelled data: {text, all_labels, true_labels, prompt?, examples?}")
      ->required();
  cmd->add_option("--threshold,-t", args->threshold, "Decision threshold")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str()
      ->each([args](const std::string&) { args->threshold_set = true; });
  cmd->add_flag("--single-label", args->single_label, "The top label is the prediction (softmax)");
  cmd->add_option("--heldout", args->heldout, "Held-out labels (labels.json or a JSON list): seen/held-out split");
  cmd->add_flag("--json", args->json_out, "Print one JSON object as the last line");
  cmd->add_option("--per-label", args->per_label, "Rows of the per-label table")->capture_default_str();
  cmd->add_option("--batch-size,-b", args->batch_size, "Sequences per forward pass")
      ->check(CLI::PositiveNumber)->capture_default_str();
  args->engine.add_to(*cmd);
  cmd->add_flag("--quiet,-q", args->quiet, "No progress on stderr");
  cmd->callback([args, &exit_code]() { exit_code = run_eval(*args); });
}

}  // namespace gliclass::cli
