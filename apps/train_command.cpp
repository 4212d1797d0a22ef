// `gliclass train`: fine-tunes a GLiClass checkpoint on data in the
// reference's training format. Progress goes to stderr; the last stdout line
// is a JSON summary. Defaults are the reference train.py's.
#include "train_command.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <sstream>

#include "gliclass/error.h"
#include "local_workers.h"
#include "io/hub.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace gliclass::cli {
namespace {

struct TrainArgs {
  train::TrainOptions o;
  std::string model, data, dev, out, descriptions;
  std::string schedule = "linear";
  std::string reduction = "mean";
  bool single_label = false;
  bool multi_label = false;
  bool no_augment = false;
  bool no_shuffle = false;
  int nproc = 1;
  std::string lora;
};

// "r=16,alpha=32,targets=query_proj,value_proj,dropout=0.05": key=value
// items; an item without '=' continues the list before it (targets).
io::LoraConfig parse_lora(const std::string& spec) {
  io::LoraConfig c;
  std::string key;
  std::stringstream ss(spec);
  std::string item;
  bool alpha_set = false;
  while (std::getline(ss, item, ',')) {
    std::string value = item;
    if (const auto eq = item.find('='); eq != std::string::npos) {
      key = item.substr(0, eq);
      value = item.substr(eq + 1);
    } else if (key != "targets") {
      throw InputError("train: --lora item '" + item + "' is not key=value");
    }
    try {
      if (key == "r") c.r = std::stoll(value);
      else if (key == "alpha") c.lora_alpha = std::stod(value), alpha_set = true;
      else if (key == "dropout") c.lora_dropout = std::stod(value);
      else if (key == "targets") c.target_modules.push_back(value);
      else if (key == "rslora") c.use_rslora = value == "1" || value == "true";
      else throw InputError("train: unknown --lora key '" + key + "' (expected r, alpha, dropout, targets, rslora)");
    } catch (const std::logic_error&) {
      throw InputError("train: --lora " + key + " must be a number (got '" + value + "')");
    }
  }
  if (c.r < 1) throw InputError("train: --lora r must be at least 1");
  if (!alpha_set) c.lora_alpha = static_cast<double>(c.r);
  if (c.target_modules.empty()) throw InputError("train: --lora needs targets=<layer names>");
  return c;
}

int run_train(TrainArgs& a) {
  auto& o = a.o;
  o.world = train::world_from_environment();
  if (o.world && a.nproc > 1 && a.nproc != o.world->size)
    throw InputError("train: --nproc " + std::to_string(a.nproc) + " but WORLD_SIZE=" +
                     std::to_string(o.world->size) + " in the environment");
  if (!o.world && a.nproc > 1) return run_local_workers(a.nproc);
  o.model_dir = io::resolve_model_dir(a.model);
  o.train_file = a.data;
  o.dev_file = a.dev;
  o.out_dir = a.out;
  o.descriptions_file = a.descriptions;
  o.schedule = train::schedule_from_name(a.schedule);
  o.focal.reduction = train::reduction_from_name(a.reduction);
  if (a.single_label) o.single_label = true;
  if (a.multi_label) o.single_label = false;
  if (a.no_augment) {
    const auto keep = o.augment;
    o.augment = train::AugmentOptions::none();
    o.augment.max_examples = keep.max_examples;
  }
  if (a.no_shuffle) o.augment.shuffle_labels = false;
  if (!a.lora.empty()) o.lora = parse_lora(a.lora);

  const auto s = train::run_training(o);
  if (s.rank != 0) return 0;  // rank 0 reports for the world
  nlohmann::json j = {{"steps", s.steps},
                      {"total_steps", s.total_steps},
                      {"finished", s.finished},
                      {"loss", s.last_loss},
                      {"last", s.last_dir.string()}};
  add_dev_results(j, s.best_micro_f1, s.best_dir, s.last_eval);
  if (s.best_micro_f1) j["best_step"] = s.best_step;
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace

void add_dev_results(nlohmann::json& j, const std::optional<double>& best_micro_f1,
                     const std::filesystem::path& best_dir, const std::optional<train::EvalReport>& last_eval) {
  if (best_micro_f1) {
    j["best"] = best_dir.string();
    j["best_dev_micro_f1"] = *best_micro_f1;
  }
  if (last_eval) {
    j["dev_micro_f1"] = last_eval->micro_f1;
    j["dev_macro_f1"] = last_eval->macro_f1;
  }
}

void add_train_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<TrainArgs>();
  auto& o = args->o;
  auto* cmd = app.add_subcommand("train", "Fine-tune a GLiClass model on labelled data (JSON list or JSONL)");
  cmd->add_option("--model,-m", args->model, "Checkpoint to start from (Hugging Face layout)")->required();
  cmd->add_option("--data,-d", args->data, "Training data: {text, all_labels, true_labels, prompt?, examples?}")
      ->required();
  cmd->add_option("--dev", args->dev, "Dev data: evaluated during training, keeps out/best");
  cmd->add_option("--out,-o", args->out, "Output directory (last/, best/, metrics.jsonl)")->required();
  cmd->add_option("--descriptions", args->descriptions, "Label descriptions/synonyms: [{label, descriptions, synonyms}]");

  cmd->add_option("--epochs", o.epochs, "Passes over the data")->capture_default_str();
  cmd->add_option("--max-steps", o.max_steps, "Total optimizer steps (overrides --epochs)")->capture_default_str();
  cmd->add_option("--batch-size,-b", o.batch_size, "Examples per micro-batch")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--grad-accum", o.grad_accum, "Micro-batches per optimizer step")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of every random choice")->capture_default_str();
  cmd->add_option("--max-length", o.max_length, "Tokens per sequence")->check(CLI::Range(8, 1 << 20))->capture_default_str();

  cmd->add_option("--encoder-lr", o.optimizer.encoder_lr, "Learning rate of the backbone")->capture_default_str();
  cmd->add_option("--others-lr", o.optimizer.others_lr, "Learning rate of the heads")->capture_default_str();
  cmd->add_option("--encoder-weight-decay", o.optimizer.encoder_weight_decay)->capture_default_str();
  cmd->add_option("--others-weight-decay", o.optimizer.others_weight_decay)->capture_default_str();
  cmd->add_option("--scheduler", args->schedule, "linear, cosine or constant (after warmup)")->capture_default_str();
  cmd->add_option("--warmup-ratio", o.warmup_ratio, "Warmup steps as a share of all steps")->capture_default_str();
  cmd->add_option("--warmup-steps", o.warmup_steps, "Warmup steps (overrides --warmup-ratio)");
  cmd->add_option("--max-grad-norm", o.max_grad_norm, "Gradient clipping norm (0 = off)")->capture_default_str();

  cmd->add_flag("--single-label", args->single_label, "Cross-entropy over each text's labels");
  cmd->add_flag("--multi-label", args->multi_label, "Focal/BCE loss per label (default: the config's problem_type)");
  cmd->add_option("--focal-alpha", o.focal.alpha, "Focal loss alpha (< 0: off)")->capture_default_str();
  cmd->add_option("--focal-gamma", o.focal.gamma, "Focal loss gamma (<= 0: off, plain BCE)")->capture_default_str();
  cmd->add_option("--loss-reduction", args->reduction, "mean, sum or none (none: mean over all label slots)")
      ->capture_default_str();
  cmd->add_option("--label-smoothing", o.focal.label_smoothing, "Targets y(1-e)+e/2")->capture_default_str();
  cmd->add_option("--contrastive-coef", o.contrastive_coef, "Weight of the label contrastive loss")
      ->capture_default_str();

  cmd->add_option("--aug-remove-labels", o.augment.remove_labels, "P(drop some candidates)")->capture_default_str();
  cmd->add_option("--aug-add-labels", o.augment.add_labels, "P(add random candidates)")->capture_default_str();
  cmd->add_option("--aug-add-text", o.augment.add_text, "P(glue an unrelated text)")->capture_default_str();
  cmd->add_option("--aug-synonyms", o.augment.synonyms, "P(swap labels for synonyms)")->capture_default_str();
  cmd->add_option("--aug-descriptions", o.augment.descriptions, "P(add label descriptions)")->capture_default_str();
  cmd->add_option("--aug-examples", o.augment.examples, "P(add few-shot examples)")->capture_default_str();
  cmd->add_flag("--no-augment", args->no_augment, "Every augmentation probability 0");
  cmd->add_flag("--no-shuffle-labels", args->no_shuffle, "Keep each example's label order");

  cmd->add_option("--log-steps", o.log_steps, "Log every N steps")->capture_default_str();
  cmd->add_option("--eval-steps", o.eval_steps, "Evaluate on --dev every N steps (and each epoch end)")
      ->capture_default_str();
  cmd->add_option("--save-steps", o.save_steps, "Save last/ every N steps (and at the end)")->capture_default_str();
  cmd->add_option("--eval-batch-size", o.eval_batch_size, "Sequences per evaluation pass")->capture_default_str();
  cmd->add_option("--threshold", o.threshold, "Dev decision threshold")->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_flag("--resume", o.resume, "Continue from out/last (same data, seed and batch settings)");
  cmd->add_option("--stop-at-step", o.stop_at_step, "Stop at this step, saving a resumable last/");
  cmd->add_option("--threads", o.threads, "CPU threads per worker (0 = all, shared among --nproc workers)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--nproc", args->nproc,
                  "Data-parallel worker processes on this machine (Gloo; each takes --batch-size examples)")
      ->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--lora", args->lora,
                  "Train LoRA adapters only: r=16,alpha=32,targets=query_proj,key_proj,value_proj[,dropout=0.05]"
                  " (last/ and best/ are then PEFT adapter directories over --model)");
  cmd->add_flag("--quiet,-q", o.quiet, "No progress on stderr");
  cmd->callback([args, &exit_code]() { exit_code = run_train(*args); });
}

}  // namespace gliclass::cli
