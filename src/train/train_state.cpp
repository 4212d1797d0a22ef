#include "train/train_state.h"

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "gliclass/error.h"
#include "io/checkpoint.h"
#include "train/checkpoint.h"

namespace gliclass::train {
using json = nlohmann::json;

json TrainState::to_json() const {
  json j;
  j["format"] = 1;
  j["global_step"] = global_step;
  j["epoch"] = epoch;
  j["batch_in_epoch"] = batch_in_epoch;
  j["total_steps"] = total_steps;
  j["batch_size"] = batch_size;
  j["grad_accum"] = grad_accum;
  j["world_size"] = world_size;
  j["seed"] = seed;
  j["train_examples"] = train_examples;
  j["examples_seen"] = examples_seen;
  j["best_metric"] = best_metric ? json(*best_metric) : json(nullptr);
  j["best_step"] = best_step;
  // Generators are counter-based: (seed, epoch, position) fixes every draw.
  j["rng"] = {{"kind", "mt19937_64 per (seed, stream, position)"}};
  return j;
}

TrainState TrainState::from_json(const json& j, const std::string& source) {
  auto get = [&](const char* key, auto& dst) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number())
      throw ModelError("resume: " + source + " lacks the number '" + key + "'");
    dst = it->get<std::decay_t<decltype(dst)>>();
  };
  TrainState s;
  get("global_step", s.global_step);
  get("epoch", s.epoch);
  get("batch_in_epoch", s.batch_in_epoch);
  get("total_steps", s.total_steps);
  get("batch_size", s.batch_size);
  get("grad_accum", s.grad_accum);
  get("seed", s.seed);
  get("train_examples", s.train_examples);
  get("examples_seen", s.examples_seen);
  get("best_step", s.best_step);
  if (j.contains("world_size")) get("world_size", s.world_size);  // absent: one process
  if (auto it = j.find("best_metric"); it != j.end() && it->is_number()) s.best_metric = it->get<double>();
  return s;
}

TrainState read_train_state(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw ModelError("resume: cannot open " + file.string());
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw ModelError("resume: " + file.string() + " is not valid JSON (" + e.what() + ")");
  }
  return TrainState::from_json(j, file.string());
}

void check_compatible(const TrainState& saved, const TrainState& now) {
  auto same = [](const char* what, auto a, auto b) {
    if (a != b)
      throw InputError(std::string("resume: ") + what + " differs from the interrupted run (expected " +
                       std::to_string(a) + ", got " + std::to_string(b) + ")");
  };
  same("seed", saved.seed, now.seed);
  same("batch size", saved.batch_size, now.batch_size);
  same("gradient accumulation", saved.grad_accum, now.grad_accum);
  same("number of data-parallel workers", saved.world_size, now.world_size);
  same("number of training examples", saved.train_examples, now.train_examples);
  same("total steps", saved.total_steps, now.total_steps);
}

std::vector<std::pair<std::string, torch::Tensor>> read_state_tensors(const std::filesystem::path& file,
                                                                      const std::string& prefix) {
  auto f = io::open_safetensors(file);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& name : f->names())
    if (name.rfind(prefix, 0) == 0) out.emplace_back(name.substr(prefix.size()), f->get(name));
  return out;
}

void truncate_metrics(const std::filesystem::path& file, int64_t step) {
  std::ifstream in(file);
  if (!in) return;
  std::vector<std::string> keep;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      auto j = json::parse(line);
      if (j.contains("step") && j["step"].is_number() && j["step"].get<int64_t>() > step) continue;
    } catch (const json::parse_error&) {
      continue;  // a line cut by a crash
    }
    keep.push_back(line);
  }
  in.close();
  std::ofstream out(file, std::ios::trunc);
  for (const auto& l : keep) out << l << "\n";
}

RunStart start_run(const std::filesystem::path& out_dir, const std::filesystem::path& model_dir, bool resume,
                   const TrainState& planned, bool owns_outputs, bool quiet, const std::string& tool) {
  namespace fs = std::filesystem;
  fs::create_directories(out_dir);
  const fs::path metrics = out_dir / "metrics.jsonl";
  RunStart start;
  start.last = existing_checkpoint(out_dir / "last");
  start.resuming = resume && !start.last.empty() && fs::exists(start.last / kTrainStateFile);
  if (start.resuming) {
    start.state = read_train_state(start.last / kTrainStateFile);
    check_compatible(start.state, planned);
    if (owns_outputs) truncate_metrics(metrics, start.state.global_step);
    if (!quiet)
      std::cerr << tool << ": resuming from " << start.last.string() << " at step " << start.state.global_step << "/"
                << start.state.total_steps << "\n";
    return start;
  }
  if (resume && !quiet)
    std::cerr << tool << ": nothing to resume in " << (out_dir / "last").string() << "; starting from "
              << model_dir.string() << "\n";
  if (owns_outputs) {  // no metrics or best/ of an earlier run stay
    fs::remove(metrics);
    fs::remove_all(out_dir / "best");
  }
  start.last.clear();
  start.state = planned;
  return start;
}

namespace {
std::atomic<bool> g_stop_requested{false};
extern "C" void on_sigint(int) { g_stop_requested = true; }
}  // namespace

SigintScope::SigintScope() : previous_(std::signal(SIGINT, on_sigint)) { g_stop_requested = false; }
SigintScope::~SigintScope() { std::signal(SIGINT, previous_ == SIG_ERR ? SIG_DFL : previous_); }
bool SigintScope::requested() { return g_stop_requested; }

}  // namespace gliclass::train
