// The resume state saved beside last/'s weights: where training stands
// (trainer_state.json) and the optimizer's moments (optimizer.safetensors).
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gliclass::train {

inline constexpr const char* kTrainStateFile = "trainer_state.json";
inline constexpr const char* kOptimizerFile = "optimizer.safetensors";

struct TrainState {
  int64_t global_step = 0;      // optimizer steps done; also the scheduler's step
  int64_t epoch = 0;            // data position: epoch ...
  int64_t batch_in_epoch = 0;   // ... and the next micro-batch in its order
  int64_t total_steps = 0;
  int64_t batch_size = 0;
  int64_t grad_accum = 0;
  int64_t world_size = 1;       // data-parallel workers (a micro-batch is world_size * batch_size)
  uint64_t seed = 0;            // every generator is derived from it (trainer.h)
  uint64_t train_examples = 0;
  uint64_t examples_seen = 0;
  std::optional<double> best_metric;  // best dev micro-F1 so far
  int64_t best_step = 0;

  nlohmann::json to_json() const;
  // ModelError naming the key on a missing or mistyped field.
  static TrainState from_json(const nlohmann::json& j, const std::string& source);
};

TrainState read_train_state(const std::filesystem::path& file);

// InputError when a resumed run would not continue the saved one (another
// seed, batch size, accumulation, worker count, data size or step budget).
void check_compatible(const TrainState& saved, const TrainState& now);

// The tensors of a saved state file (optimizer.safetensors, ...) whose
// names start with `prefix`, prefix removed, in file order.
std::vector<std::pair<std::string, torch::Tensor>> read_state_tensors(const std::filesystem::path& file,
                                                                      const std::string& prefix = "");

// Drops metrics.jsonl lines logged after `step` (they are redone on resume).
void truncate_metrics(const std::filesystem::path& file, int64_t step);

// How a run in `out_dir` starts. With `resume` and a last/ holding a train
// state: that state (checked against `planned`), metrics.jsonl cut back to its
// step, and last/ to load from. Otherwise a fresh run, which owns its outputs
// (metrics.jsonl and best/ removed where `owns_outputs`: the main worker).
// `tool` ("gliclass train") names the run in the progress lines on stderr.
struct RunStart {
  bool resuming = false;
  std::filesystem::path last;  // resuming: the checkpoint to load
  TrainState state;            // resuming: the saved state; fresh: `planned`
};
RunStart start_run(const std::filesystem::path& out_dir, const std::filesystem::path& model_dir, bool resume,
                   const TrainState& planned, bool owns_outputs, bool quiet, const std::string& tool);

// While alive, Ctrl-C (SIGINT) only sets requested(): the training loop then
// finishes its step, saves a resumable last/ and returns. The previous
// handler comes back on destruction.
class SigintScope {
 public:
  SigintScope();
  ~SigintScope();
  SigintScope(const SigintScope&) = delete;
  SigintScope& operator=(const SigintScope&) = delete;
  static bool requested();

 private:
  void (*previous_)(int);
};

}  // namespace gliclass::train
