// `gliclass train-rl`: PPO over label decisions (train/ppo.h) from labelled
// data or from human feedback. Per batch: num_rl_iters updates, each with
// freshly sampled actions, per-sample rewards (train/rewards.h), a baseline
// from a value model (an encoder with a scalar head on its first token, its
// own Adam, MSE to the reward) or the batch mean, clipped surrogate, optional
// KL to the frozen starting model. Checkpoints as `gliclass train`: last/
// (and best/ by dev micro-F1), metrics.jsonl with one line per logged step.
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
  int threads = 0;
  bool quiet = false;
};

struct RlSummary {
  int64_t steps = 0;
  double mean_reward = 0;  // over the last log interval
  std::optional<EvalReport> last_eval;
  std::optional<double> best_micro_f1;
  std::filesystem::path last_dir, best_dir;
};

RlSummary run_rl_training(const RlOptions& options);

}  // namespace gliclass::train
