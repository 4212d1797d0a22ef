// Supervised training of a GLiClass checkpoint (the reference's train.py +
// training.Trainer), in one process or data-parallel across several
// (train/distributed.h).
//
// Output directory:
//   last/     the latest checkpoint (Hugging Face layout) plus the resume state:
//             trainer_state.json (step, epoch, data position, seed, best metric)
//             and optimizer.safetensors (AdamW moments and step counts)
//   best/     the checkpoint with the best dev micro-F1 (when a dev set is given)
//   metrics.jsonl  one JSON object per log interval ("train") and evaluation ("eval")
//
// Reproducibility: the epoch order, each example's augmentations and each
// micro-batch's dropout masks come from generators seeded by (seed, epoch,
// position) alone, so the resume state needs no generator snapshots and a
// resumed run takes exactly the steps an uninterrupted one would.
//
// Data-parallel: with W workers a micro-batch is W * batch_size examples of
// the epoch order, worker r taking the r-th slice of batch_size; losses are
// averaged over the whole micro-batch's counts (losses.h LossParts) and
// gradients summed across workers, so W workers take the steps one process
// would with W times the batch size. Rank 0 alone evaluates, saves and logs.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "io/peft_adapter.h"
#include "train/augment.h"
#include "train/distributed.h"
#include "train/losses.h"
#include "train/metrics.h"
#include "train/optimizer.h"

namespace gliclass::train {

struct TrainOptions {
  std::filesystem::path model_dir;          // checkpoint to start from (HF layout)
  std::filesystem::path train_file;         // JSON list or JSONL
  std::filesystem::path dev_file;           // optional: evaluation and "best"
  std::filesystem::path out_dir;
  std::filesystem::path descriptions_file;  // optional label descriptions / synonyms

  int64_t epochs = 3;
  int64_t max_steps = 0;       // > 0: total optimizer steps (overrides epochs)
  int64_t batch_size = 8;
  int64_t grad_accum = 1;      // micro-batches per optimizer step
  uint64_t seed = 42;
  size_t max_length = 1024;    // tokens per sequence, special tokens included

  OptimizerOptions optimizer;
  Schedule schedule = Schedule::kLinear;
  double warmup_ratio = 0.05;
  int64_t warmup_steps = -1;   // >= 0 overrides warmup_ratio
  double max_grad_norm = 1.0;  // <= 0: no clipping

  // Loss: problem_type from the checkpoint's config unless set here.
  std::optional<bool> single_label;
  FocalOptions focal;          // reference train.py defaults: alpha = gamma = -1 (BCE)
  double contrastive_coef = 0;
  AugmentOptions augment;

  int64_t log_steps = 10;
  int64_t eval_steps = 0;      // > 0: evaluate every N steps; always at each epoch end
  int64_t save_steps = 500;    // > 0: save last/ every N steps; always at the end
  int64_t eval_batch_size = 8;
  double threshold = 0.5;      // dev decisions

  bool resume = false;         // continue from out_dir/last if it has a resume state
  int64_t stop_at_step = 0;    // > 0: stop (saving last/) once this step is reached
  int threads = 0;             // intra-op threads; 0 = every CPU this process may use, split among local workers
  // LoRA: train adapters on the encoder's target layers (and the heads)
  // only; last/ and best/ are PEFT adapter directories over model_dir.
  std::optional<io::LoraConfig> lora;
  std::optional<WorldInfo> world;  // data-parallel worker of this world; nullopt = one process
  bool quiet = false;          // no progress on stderr
};

struct TrainSummary {
  int64_t steps = 0;           // optimizer steps done (total, across resumes)
  int64_t total_steps = 0;
  bool finished = false;       // reached total_steps (false: stopped early)
  double last_loss = 0;        // mean loss of the last log interval
  std::optional<EvalReport> last_eval;
  std::optional<double> best_micro_f1;
  int64_t best_step = 0;
  std::filesystem::path last_dir;
  std::filesystem::path best_dir;
  int rank = 0;                // this worker's rank (0 in one process)
};

// Runs training; throws InputError (bad data or options) or ModelError (bad checkpoint).
TrainSummary run_training(const TrainOptions& options);

}  // namespace gliclass::train
