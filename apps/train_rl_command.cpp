// `gliclass train-rl`: PPO for multi-label classification (train/rl_trainer.h)
// from labelled data (--data) or human feedback (--feedback). Progress on
// stderr, metrics.jsonl per logged step; the last stdout line is a JSON summary.
#include "train_rl_command.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "train_command.h"
#include "io/hub.h"
#include "train/rl_trainer.h"

namespace gliclass::cli {
namespace {

struct RlArgs {
  train::RlOptions o;
  std::string model, data, feedback, dev, out;
};

int run_rl(RlArgs& a) {
  auto& o = a.o;
  o.model_dir = io::resolve_model_dir(a.model);
  o.train_file = a.data;
  o.feedback_file = a.feedback;
  o.dev_file = a.dev;
  o.out_dir = a.out;
  const auto s = train::run_rl_training(o);
  nlohmann::json j = {{"steps", s.steps}, {"reward", s.mean_reward}, {"last", s.last_dir.string()},
                      {"interrupted", s.interrupted}};
  add_dev_results(j, s.best_micro_f1, s.best_dir, s.last_eval);
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace

void add_train_rl_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RlArgs>();
  auto& o = args->o;
  auto& p = o.ppo;
  auto* cmd = app.add_subcommand("train-rl", "Train with PPO from rewards: labelled data or human feedback");
  cmd->add_option("--model,-m", args->model, "Policy to start from (also the KL reference)")->required();
  cmd->add_option("--data,-d", args->data, "Labelled data (training format; an item's \"reward\" is its user reward)");
  cmd->add_option("--feedback", args->feedback,
                  "Judgements: {text, labels (shown), accepted, rejected, score?} per line");
  cmd->add_option("--dev", args->dev, "Dev data: evaluated, keeps out/best");
  cmd->add_option("--out,-o", args->out, "Output directory (last/, best/, metrics.jsonl)")->required();
  cmd->add_option("--epochs", o.epochs, "Passes over the data")->capture_default_str();
  cmd->add_option("--max-steps", o.max_steps, "Batches in all (overrides --epochs)")->capture_default_str();
  cmd->add_option("--batch-size,-b", o.batch_size, "Examples per batch")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of data order and sampled actions")->capture_default_str();
  cmd->add_option("--max-length", o.max_length, "Tokens per sequence")->capture_default_str();
  cmd->add_option("--encoder-lr", o.optimizer.encoder_lr, "Learning rate of the backbone")->capture_default_str();
  cmd->add_option("--others-lr", o.optimizer.others_lr, "Learning rate of the heads")->capture_default_str();
  cmd->add_option("--max-grad-norm", o.max_grad_norm, "Gradient clipping norm (0 = off)")->capture_default_str();
  cmd->add_option("--rewards", o.rewards, "Reward components name=weight: f1, precision, recall, accuracy, user")
      ->capture_default_str();
  cmd->add_option("--clip", p.clip, "PPO clip range epsilon")->capture_default_str();
  cmd->add_option("--num-rl-iters", p.num_rl_iters, "Updates per batch, actions resampled each time")
      ->capture_default_str();
  cmd->add_option("--actions", p.actions, "bernoulli (sampled) or threshold")->capture_default_str();
  cmd->add_option("--action-threshold", p.threshold, "Threshold for --actions threshold")->capture_default_str();
  cmd->add_option("--focal-gamma", p.focal_gamma, "Weight the loss by p_t^gamma (<= 0: off)")->capture_default_str();
  cmd->add_option("--focal-alpha", p.focal_alpha, "Alpha weighting of positives (< 0: off)")->capture_default_str();
  cmd->add_option("--label-smoothing", p.label_smoothing, "Smoothing of actions in log pi")->capture_default_str();
  cmd->add_option("--kl-beta", p.kl_beta, "KL penalty to the starting model (0: off)")->capture_default_str();
  cmd->add_option("--entropy-beta", p.entropy_beta, "Entropy bonus (0: off)")->capture_default_str();
  cmd->add_flag("--value-model", o.value_model, "Baseline from a value model (else the batch mean reward)");
  cmd->add_option("--value-lr", o.value_lr, "Learning rate of the value model")->capture_default_str();
  cmd->add_option("--log-steps", o.log_steps, "Log every N batches")->capture_default_str();
  cmd->add_option("--eval-steps", o.eval_steps, "Evaluate on --dev every N batches (and at the end)")
      ->capture_default_str();
  cmd->add_option("--save-steps", o.save_steps, "Save last/ every N batches (and at the end)")->capture_default_str();
  cmd->add_option("--eval-batch-size", o.eval_batch_size, "Sequences per evaluation pass")->capture_default_str();
  cmd->add_option("--threshold", o.threshold, "Dev decision threshold")->capture_default_str();
  cmd->add_option("--threads", o.threads, "CPU threads (0 = every CPU this process may use)");
  cmd->add_flag("--resume", o.resume, "Continue from out/last (same data, seed and batch settings)");
  cmd->add_option("--stop-at-step", o.stop_at_step, "Stop after this many batches, saving a resumable last/");
  cmd->add_flag("--quiet,-q", o.quiet, "No progress on stderr");
  cmd->callback([args, &exit_code]() { exit_code = run_rl(*args); });
}

}  // namespace gliclass::cli
