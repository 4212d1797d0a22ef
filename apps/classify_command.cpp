// `gliclass classify`: texts from arguments, a file or stdin; JSONL out, one
// object per input in input order. A bad record gets an error object in its
// place and the run goes on (exit code 2 at the end).
#include "classify_command.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <iostream>

#include "classifier_flags.h"
#include "default_model.h"
#include "gliclass/gliclass.h"
#include "input_formats.h"
#include "serve/json_io.h"

namespace gliclass::cli {
namespace {

using ojson = nlohmann::ordered_json;

struct ClassifyArgs {
  std::string model;
  std::vector<std::string> texts;
  std::string input;
  std::string format = "auto";
  std::string text_column = "text";
  std::string labels;
  std::string labels_file;
  std::string prompt;
  std::string output = "-";
  std::optional<float> threshold;
  bool single_label = false;
  bool all_scores = false;
  bool logits = false;
  bool review = false;
  bool quiet = false;
  int64_t batch_size = 8;
  EngineFlags engine;
  ChunkingFlags chunking;
  size_t max_labels = ClassifierOptions{}.max_labels;
  size_t max_text_bytes = ClassifierOptions{}.max_text_bytes;
  size_t chunk = 256;  // records classified per library call
};

// The same fields and numbers as `gliclass serve` answers (serve/json_io.h).
ojson result_json(const InputRecord& rec, const ClassifyResult& r, const ClassifyArgs& a) {
  ojson out = ojson::object();
  if (rec.id) out["id"] = *rec.id;
  if (a.review) {
    // A line for a reviewer to fill in and give to `gliclass train-rl --feedback`.
    out["text"] = rec.request.text;
    if (!rec.request.prompt.empty()) out["prompt"] = rec.request.prompt;
    out["labels"] = ojson::array();
    for (const auto& p : r.predictions) out["labels"].push_back(p.label);
    out["scores"] = ojson::object();
    for (size_t i = 0; i < r.labels.size(); ++i) out["scores"][r.labels[i]] = r.scores[i];
    out["accepted"] = ojson::array();
    out["rejected"] = ojson::array();
    return out;
  }
  out.update(serve::result_to_json(r, {a.all_scores, a.logits}));
  return out;
}

ojson error_json(const InputRecord& rec, const std::string& message) {
  ojson out = ojson::object();
  if (rec.id) out["id"] = *rec.id;
  out["line"] = rec.line;
  out["error"] = message;
  return out;
}

int run_classify(const ClassifyArgs& a) {
  std::vector<std::string> shared_labels;
  if (!a.labels.empty()) shared_labels = split_labels(a.labels);
  if (!a.labels_file.empty()) {
    auto more = read_labels_file(a.labels_file);
    shared_labels.insert(shared_labels.end(), more.begin(), more.end());
  }

  ClassifierOptions copts = a.engine.options();
  copts.batch_size = a.batch_size;
  copts.max_labels = a.max_labels;
  copts.max_text_bytes = a.max_text_bytes;
  const Classifier clf = Classifier::load(a.model.empty() ? default_model_dir() : a.model, copts);

  ClassifyOptions opts;
  opts.type = a.single_label ? ClassificationType::kSingleLabel : ClassificationType::kMultiLabel;
  opts.threshold = a.threshold;
  a.chunking.apply_to(opts);

  std::ofstream out_file;
  std::ostream* out = &std::cout;
  if (a.output != "-") {
    out_file.open(a.output);
    if (!out_file) throw InputError("cli: cannot write '" + a.output + "'");
    out = &out_file;
  }

  // Records come from the positional texts, or from --input (a file or "-").
  std::istringstream from_args;
  std::ifstream in_file;
  std::istream* in = &from_args;
  InputFormat format = InputFormat::kLines;
  std::string joined;
  if (!a.texts.empty()) {
    if (!a.input.empty()) throw InputError("cli: give texts as arguments or --input, not both");
    for (const auto& t : a.texts) joined += ojson{{"text", t}}.dump() + "\n";
    from_args.str(joined);
    format = InputFormat::kJsonl;
  } else {
    const std::string path = a.input.empty() ? "-" : a.input;
    if (path != "-") {
      in_file.open(path);
      if (!in_file) throw InputError("cli: cannot open input '" + path + "'");
      in = &in_file;
    } else {
      in = &std::cin;
    }
    format = parse_format(a.format);
    if (format == InputFormat::kAuto) format = detect_format(path, *in);
  }
  RecordReader reader(*in, format, a.text_column);
  const bool progress = !a.quiet && a.texts.empty();

  size_t failed = 0, done = 0;
  const auto start = std::chrono::steady_clock::now();
  bool more = true;
  while (more) {
    std::vector<InputRecord> records;
    InputRecord rec;
    while (records.size() < a.chunk && (more = reader.next(rec))) records.push_back(std::move(rec));
    // Validate each record; only good ones go to the model.
    std::vector<ClassifyRequest> requests;
    std::vector<size_t> owner;
    for (size_t i = 0; i < records.size(); ++i) {
      auto& r = records[i];
      if (!r.error.empty()) continue;
      if (!r.has_labels) r.request.labels = shared_labels;
      if (r.request.prompt.empty()) r.request.prompt = a.prompt;
      if (r.request.labels.empty() && shared_labels.empty() && !r.has_labels) {
        r.error = "no labels: give --labels/--labels-file or a 'labels' field";
        continue;
      }
      try {
        r.request.adapter_id = a.engine.adapter_id();
        clf.validate(r.request);
        requests.push_back(r.request);
        owner.push_back(i);
      } catch (const InputError& e) {
        r.error = e.what();
      }
    }
    std::vector<ClassifyResult> results = clf.classify(requests, opts);
    std::vector<const ClassifyResult*> by_record(records.size(), nullptr);
    for (size_t k = 0; k < owner.size(); ++k) by_record[owner[k]] = &results[k];
    for (size_t i = 0; i < records.size(); ++i) {
      if (by_record[i]) {
        *out << result_json(records[i], *by_record[i], a).dump(-1, ' ', false, ojson::error_handler_t::replace) << "\n";
      } else {
        ++failed;
        std::cerr << "gliclass: line " << records[i].line << ": " << records[i].error << "\n";
        *out << error_json(records[i], records[i].error).dump(-1, ' ', false, ojson::error_handler_t::replace) << "\n";
      }
    }
    out->flush();
    done += records.size();
    if (progress && !records.empty()) {
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::cerr << "gliclass: " << done << " records, " << failed << " failed, "
                << static_cast<int>(done / std::max(secs, 1e-9)) << " records/s\n";
    }
  }
  return failed > 0 ? 2 : 0;
}

}  // namespace

void add_classify_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ClassifyArgs>();
  auto* cmd = app.add_subcommand("classify", "Classify texts against candidate labels; JSONL out");
  cmd->add_option("--model,-m", args->model, "Model directory (Hugging Face layout); default: the bundled model");
  cmd->add_option("texts", args->texts, "Texts to classify (else --input or stdin)");
  cmd->add_option("--input,-i", args->input, "Input file, or - for stdin");
  cmd->add_option("--format", args->format, "Input format: auto, lines, jsonl, csv")->capture_default_str();
  cmd->add_option("--text-column", args->text_column, "CSV column holding the text")->capture_default_str();
  cmd->add_option("--labels,-l", args->labels, "Comma-separated labels for every input");
  cmd->add_option("--labels-file", args->labels_file, "Labels: one per line, or a JSON list or label tree");
  cmd->add_option("--prompt", args->prompt, "Task prompt for inputs that give none");
  cmd->add_option("--output,-o", args->output, "Output file, or - for stdout")->capture_default_str();
  cmd->add_option("--threshold,-t", args->threshold, "Score threshold (default 0.5 for multi-label)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--single-label", args->single_label, "Softmax over the labels, keep the best one");
  cmd->add_flag("--all-scores", args->all_scores, "Add every label's probability");
  cmd->add_flag("--logits", args->logits, "Add every label's raw logit");
  cmd->add_flag("--review", args->review,
                "Write lines to review: {text, labels (predicted), scores, accepted: [], rejected: []}, "
                "for train-rl --feedback once filled in");
  cmd->add_flag("--quiet,-q", args->quiet, "No progress on stderr");
  cmd->add_option("--batch-size,-b", args->batch_size, "Sequences per forward pass")
      ->check(CLI::PositiveNumber)->capture_default_str();
  args->engine.add_to(*cmd);
  args->chunking.add_to(*cmd);
  cmd->add_option("--max-labels", args->max_labels, "Most labels one input may have")->capture_default_str();
  cmd->add_option("--max-text-bytes", args->max_text_bytes,
                  "Longest text, prompt, label or example text in bytes; longer is an error before tokenizing")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([args, &exit_code]() { exit_code = run_classify(*args); });
}

}  // namespace gliclass::cli
