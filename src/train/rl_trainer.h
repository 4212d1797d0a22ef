// `gliclass train-rl`: PPO over label decisions (train/ppo.h) from labelled
// data or from human feedback. Per batch: num_rl_iters updates, each with
// freshly sampled actions, per-sample rewards (train/rewards.h), a baseline
// from a value model (an encoder with a scalar head on its first token, its
// own Adam, MSE to the reward) or the batch mean, clipped surrogate, optional
// KL to the frozen starting model. Checkpoints as `gliclass train`: last/
// (and best/ by dev micro-F1), metrics.jsonl with one line per logged step.
// last/ also holds what a resume needs (trainer_state.json, the optimizer's
// moments, and rl_state.safetensors: the value model, its optimizer and the
// sampling generator), so a resumed run takes the same steps an
// uninterrupted one would; Ctrl-C saves it and stops.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "train/data.h"
#include "train/metrics.h"
#include "train/optimizer.h"
#include "train/ppo.h"

namespace gliclass::train {

struct RlOptions {
  std::filesystem::path model_dir;      // policy to start from (also the KL reference)
  std::filesystem::path train_file;     // labelled data; and/or
  std::filesystem::path feedback_file;  // judgements
  std::filesystem::path dev_file;       // optional: evaluation and best/
  std::filesystem::path out_dir;

  int64_t epochs = 1;
  int64_t max_steps = 0;     // > 0: batches in all (overrides epochs)
  int64_t batch_size = 8;
  uint64_t seed = 42;
  size_t max_length = 1024;
  OptimizerOptions optimizer;
  double max_grad_norm = 1.0;
  std::string rewards = "f1";  // parse_reward_components
  PpoOptions ppo;
  bool value_model = false;    // false: the batch-mean baseline
  double value_lr = 1e-5;

  int64_t log_steps = 10;
  int64_t eval_steps = 0;      // > 0: evaluate every N batches; always at the end
  int64_t save_steps = 500;
  int64_t eval_batch_size = 8;
  double threshold = 0.5;
  int threads = 0;          // intra-op threads; 0 = every CPU this process may use
  bool quiet = false;
  bool resume = false;       // continue from out_dir/last if it has a resume state
  int64_t stop_at_step = 0;  // > 0: stop (saving last/) once this many batches are done
};

struct RlSummary {
  int64_t steps = 0;         // batches done (total, across resumes)
  bool interrupted = false;  // stopped early (Ctrl-C or stop_at_step); resume to go on
  double mean_reward = 0;  // over the last log interval
  std::optional<EvalReport> last_eval;
  std::optional<double> best_micro_f1;
  std::filesystem::path last_dir, best_dir;
};

RlSummary run_rl_training(const RlOptions& options);

}  // namespace gliclass::train
