// `gliclass stream`: chunk events of many sessions, one JSON object per line
//   {"session_id", "text", "labels", "prompt"?, "examples"?, "threshold"?,
//    "classification_type"?, "strategy"? ("every_n_tokens:N", ...), "window"?,
//    "end"? (delete the session after this chunk)}
// in, and one line per event out:
//   {"session_id", "triggered", "predictions": [{label, score}] | null,
//    "cached_length", "tokens_added"}
// Sessions stay open until "end" or the end of input; each event is one
// StreamingClassifier::push carrying the other open sessions with empty chunks
// (which append nothing and never trigger). A bad line gets {"line", "error"}
// and the run goes on (exit code 2 at the end).
#include "stream_command.h"

#include <fstream>
#include <iostream>
#include <map>

#include "gliclass/gliclass.h"
#include "gliclass/streaming.h"
#include "serve/json_io.h"

namespace gliclass::cli {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

struct StreamArgs {
  std::string model;
  std::string input = "-";
  std::string output = "-";
  std::string strategy = "every_chunk";
  size_t window = 0;
  size_t max_cache_len = 0;
  size_t batch_size = 8;
  std::optional<float> threshold;
  bool single_label = false;
  int threads = 0;
  std::string dtype = "fp32";
};

StreamStrategy strategy_of(const std::string& spec, size_t window) {
  StreamStrategy s = StreamStrategy::from_spec(spec);
  if (window > 0) s = StreamStrategy::composed(s, StreamStrategy::sliding_window(window));
  return s;
}

// The event of one line; InputError naming the field when it is malformed.
StreamInput parse_event(const json& j) {
  if (!j.is_object()) throw InputError("expected a JSON object per line");
  StreamInput in;
  auto string_field = [&](const char* key, std::string& out) {
    if (!j.contains(key)) return;
    if (!j[key].is_string()) throw InputError(std::string("\"") + key + "\" must be a string");
    out = j[key].get<std::string>();
  };
  string_field("session_id", in.session_id);
  string_field("text", in.text);
  string_field("prompt", in.prompt);
  if (!j.contains("labels") || !j["labels"].is_array()) throw InputError("\"labels\" must be a list of strings");
  for (const auto& l : j["labels"]) {
    if (!l.is_string()) throw InputError("\"labels\" must be a list of strings");
    in.labels.push_back(l.get<std::string>());
  }
  for (const auto& e : j.value("examples", json::array())) {
    if (!e.is_object() || !e.value("text", json()).is_string())
      throw InputError("\"examples\" must be a list of {\"text\", \"labels\"}");
    in.examples.push_back({e["text"].get<std::string>(), e.value("labels", std::vector<std::string>{})});
  }
  if (j.contains("threshold")) {
    if (!j["threshold"].is_number()) throw InputError("\"threshold\" must be a number");
    in.threshold = j["threshold"].get<float>();
  }
  if (j.contains("classification_type")) {
    const std::string t = j["classification_type"].is_string() ? j["classification_type"].get<std::string>() : "";
    if (t == "single-label" || t == "single") in.type = ClassificationType::kSingleLabel;
    else if (t == "multi-label" || t == "multi") in.type = ClassificationType::kMultiLabel;
    else throw InputError("\"classification_type\" must be multi-label or single-label");
  }
  if (j.contains("strategy") || j.contains("window")) {
    size_t window = 0;
    if (j.contains("window")) {
      if (!j["window"].is_number_unsigned()) throw InputError("\"window\" must be a non-negative integer");
      window = j["window"].get<size_t>();
    }
    if (j.contains("strategy") && !j["strategy"].is_string()) throw InputError("\"strategy\" must be a string");
    in.strategy = strategy_of(j.value("strategy", std::string("every_chunk")), window);
  }
  return in;
}

ojson output_json(const StreamOutput& o) {
  ojson out = ojson::object();
  out["session_id"] = o.session_id;
  out["triggered"] = o.triggered;
  out["predictions"] = nullptr;
  if (o.predictions) out["predictions"] = serve::result_to_json(*o.predictions, {}).at("predictions");
  out["cached_length"] = o.cached_length;
  out["tokens_added"] = o.tokens_added;
  return out;
}

int run_stream(const StreamArgs& a) {
  ClassifierOptions options;
  options.threads = a.threads;
  options.dtype = dtype_from_name(a.dtype);
  StreamOptions stream_options;
  stream_options.max_cache_len = a.max_cache_len;
  stream_options.batch_size = a.batch_size;
  stream_options.default_strategy = strategy_of(a.strategy, a.window);
  stream_options.type = a.single_label ? ClassificationType::kSingleLabel : ClassificationType::kMultiLabel;
  stream_options.threshold = a.threshold;
  auto stream = StreamingClassifier::load(a.model, options, stream_options);

  std::ifstream file;
  if (a.input != "-") {
    file.open(a.input);
    if (!file) throw InputError("stream: cannot open " + a.input);
  }
  std::istream& in = a.input == "-" ? std::cin : file;
  std::ofstream out_file;
  if (a.output != "-") {
    out_file.open(a.output);
    if (!out_file) throw InputError("stream: cannot write " + a.output);
  }
  std::ostream& out = a.output == "-" ? std::cout : out_file;

  std::map<std::string, std::vector<std::string>> open_labels;  // open sessions and their last labels
  int exit_code = 0;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded()) throw InputError("not valid JSON");
      StreamInput event = parse_event(j);
      std::vector<StreamInput> call{event};
      for (const auto& [id, labels] : open_labels) {
        if (id == event.session_id) continue;
        StreamInput keep_open;  // an empty chunk: appends nothing, never triggers
        keep_open.session_id = id;
        keep_open.labels = labels;
        call.push_back(std::move(keep_open));
      }
      auto outputs = stream.push(call);
      out << output_json(outputs.front()).dump() << "\n" << std::flush;
      if (j.value("end", false)) open_labels.erase(event.session_id);
      else open_labels[event.session_id] = event.labels;
    } catch (const InputError& e) {
      out << ojson{{"line", number}, {"error", e.what()}}.dump() << "\n" << std::flush;
      exit_code = 2;
    }
  }
  return exit_code;
}

}  // namespace

void add_stream_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<StreamArgs>();
  auto* cmd = app.add_subcommand("stream", "Classify texts that arrive in chunks (decoder-kv models): JSONL events in, "
                                           "one JSON line per event out");
  cmd->add_option("--model,-m", args->model, "Model directory or Hub id (a decoder-kv checkpoint)")->required();
  cmd->add_option("--input,-i", args->input, "JSONL events, '-' = stdin")->capture_default_str();
  cmd->add_option("--output,-o", args->output, "Where to write the results, '-' = stdout")->capture_default_str();
  cmd->add_option("--strategy", args->strategy,
                  "Default trigger: every_chunk, every_n_tokens:N, on_delimiter:S, never, sliding_window:W")
      ->capture_default_str();
  cmd->add_option("--window", args->window, "Score over the last W cached tokens only (0 = the whole cache)");
  cmd->add_option("--max-cache-len", args->max_cache_len, "Tokens kept per session (0 = all)");
  cmd->add_option("--batch-size", args->batch_size, "Sessions per forward pass")->check(CLI::PositiveNumber);
  cmd->add_option("--threshold", args->threshold, "Score a label needs (multi-label default 0.5)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--single-label", args->single_label, "Softmax over the labels, report the best one");
  cmd->add_option("--threads", args->threads, "CPU threads (0 = every CPU this process may use)");
  cmd->add_option("--dtype", args->dtype, "fp32, bf16 or int8")->check(CLI::IsMember({"fp32", "bf16", "int8"}));
  cmd->callback([args, &exit_code] { exit_code = run_stream(*args); });
}

}  // namespace gliclass::cli
