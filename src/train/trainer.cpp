#include "train/trainer.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "gliclass/error.h"
#include "io/checkpoint.h"
#include "io/config.h"
#include "io/safetensors.h"
#include "model/adapters.h"
#include "runtime/allocator.h"
#include "runtime/threads.h"
#include "pipeline/prompt.h"
#include "tokenize/tokenizer.h"
#include "train/batch.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/scoring.h"
#include "train/train_state.h"

namespace gliclass::train {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// How long a worker waits for the others at a collective (rank 0 evaluates
// and saves while they wait).
constexpr std::chrono::minutes kCollectiveTimeout{60};

std::string format_duration(double s) {
  const auto t = static_cast<int64_t>(s);
  std::ostringstream o;
  if (t >= 3600) o << t / 3600 << "h";
  if (t >= 60) o << (t / 60) % 60 << "m";
  o << t % 60 << "s";
  return o.str();
}

class Trainer {
 public:
  explicit Trainer(const TrainOptions& o) : o_(o) {}
  TrainSummary run();

 private:
  void setup();
  const std::vector<size_t>& order(int64_t epoch);
  double train_step();
  EvalReport evaluate_dev();
  // The model to train: model_dir's weights (with fresh LoRA adapters when
  // training LoRA), then `checkpoint`'s (a last/ to resume) when given.
  model::ModelPtr load_model_to_train(const fs::path& checkpoint) const;
  // A checkpoint's model files: the full model, or the PEFT adapter under LoRA.
  void write_model(const fs::path& dir);
  void save_last();
  void save_best();
  void append_metrics(const json& line);
  void progress(double loss, double seconds, double examples_per_s, double grad_norm, double mult);
  void sum_across_workers(std::vector<double>& values);
  int64_t world_size() const { return group_ ? group_->size() : 1; }
  int64_t rank() const { return group_ ? group_->rank() : 0; }

  TrainOptions o_;
  std::unique_ptr<ProcessGroup> group_;  // data-parallel workers; null in one process
  bool main_ = true;                     // rank 0: evaluates, saves, logs
  bool stop_ = false;                    // every worker stops after this step
  io::GLiClassConfig config_;
  std::shared_ptr<const tokenize::Tokenizer> tokenizer_;
  model::ModelPtr model_;
  std::unique_ptr<AdamW> optimizer_;
  std::vector<TrainExample> train_;
  std::vector<TrainExample> dev_;
  std::unique_ptr<Augmenter> augmenter_;
  LossOptions loss_;
  int64_t pad_id_ = 0;
  int64_t batches_per_epoch_ = 0;
  int64_t warmup_ = 0;
  TrainState state_;
  int64_t cached_epoch_ = -1;
  std::vector<size_t> order_;
  fs::path metrics_file_;
  bool tty_ = false;
  double last_grad_norm_ = 0;
  double last_multiplier_ = 0;
  int64_t last_saved_step_ = -1;
  size_t dropped_ = 0;  // examples left out because their labels alone overflow max_length
};

void Trainer::setup() {
  if (o_.batch_size < 1 || o_.grad_accum < 1)
    throw InputError("train: batch size and gradient accumulation must be at least 1");
  if (o_.epochs < 1 && o_.max_steps < 1) throw InputError("train: give epochs >= 1 or max_steps >= 1");
  if (o_.world && o_.world->size > 1) {
    group_ = std::make_unique<ProcessGroup>(*o_.world, kCollectiveTimeout);
    main_ = group_->rank() == 0;
    if (!main_) o_.quiet = true;
  }
  const int local_workers = o_.world ? std::max(1, o_.world->local_size) : 1;  // they share the cores
  runtime::set_threads(o_.threads > 0 ? o_.threads : std::max(1, runtime::available_cpus() / local_workers));
  tty_ = !o_.quiet && ::isatty(STDERR_FILENO);
  runtime::keep_freed_memory();

  config_ = io::GLiClassConfig::from_file(o_.model_dir / "config.json");
  if (config_.architecture_type != "uni-encoder")
    throw ModelError("train: only uni-encoder models can be trained (got " + config_.architecture_type + ")");
  tokenizer_ = tokenize::Tokenizer::from_dir(o_.model_dir);
  pipeline::check_special_tokens(*tokenizer_, config_, o_.model_dir);
  pad_id_ = config_.pad_token_id.value_or(tokenizer_->pad_id());

  loss_.single_label = o_.single_label.value_or(config_.problem_type == "single_label_classification");
  loss_.focal = o_.focal;
  loss_.contrastive_coef = o_.contrastive_coef;
  // The saved config records what the model was trained with.
  config_.problem_type = loss_.single_label ? "single_label_classification" : "multi_label_classification";
  config_.focal_loss_alpha = o_.focal.alpha;
  config_.focal_loss_gamma = o_.focal.gamma;
  config_.focal_loss_reduction = reduction_name(o_.focal.reduction);
  config_.contrastive_loss_coef = o_.contrastive_coef;

  train_ = load_examples(o_.train_file);
  if (!o_.dev_file.empty()) dev_ = load_examples(o_.dev_file);
  LabelDescriptions descriptions;
  if (!o_.descriptions_file.empty()) descriptions = load_label_descriptions(o_.descriptions_file);
  AugmentOptions aug = o_.augment;
  aug.keep_top_label = loss_.single_label;
  augmenter_ = std::make_unique<Augmenter>(train_, std::move(descriptions), aug);

  const auto n = static_cast<int64_t>(train_.size());
  const int64_t global_batch = o_.batch_size * world_size();
  batches_per_epoch_ = (n + global_batch - 1) / global_batch;
  const int64_t steps_per_epoch = (batches_per_epoch_ + o_.grad_accum - 1) / o_.grad_accum;
  state_ = TrainState{};
  state_.seed = o_.seed;
  state_.total_steps = o_.max_steps > 0 ? o_.max_steps : o_.epochs * steps_per_epoch;
  state_.batch_size = o_.batch_size;
  state_.grad_accum = o_.grad_accum;
  state_.world_size = world_size();
  state_.train_examples = train_.size();
  warmup_ = o_.warmup_steps >= 0 ? o_.warmup_steps
                                 : static_cast<int64_t>(std::ceil(o_.warmup_ratio * static_cast<double>(state_.total_steps)));

  metrics_file_ = o_.out_dir / "metrics.jsonl";
  const RunStart start = start_run(o_.out_dir, o_.model_dir, o_.resume, state_, main_, o_.quiet, "gliclass train");
  state_ = start.state;
  model_ = load_model_to_train(start.last);  // empty: from model_dir
  optimizer_ = std::make_unique<AdamW>(parameter_groups(*model_, o_.optimizer), o_.optimizer);
  if (start.resuming) {
    optimizer_->load_state(read_state_tensors(start.last / kOptimizerFile));
    last_saved_step_ = state_.global_step;
  }
  if (!o_.quiet) {
    int64_t trainable = 0, total = 0;
    for (const auto& p : model_->parameters()) {
      total += p.numel();
      if (p.requires_grad()) trainable += p.numel();
    }
    std::cerr << "gliclass train: " << trainable << " of " << total << " parameters trainable";
    if (o_.lora) std::cerr << " (LoRA r=" << o_.lora->r << " and the heads)";
    std::cerr << "\n";
  }
  if (group_) {
    // Every replica starts from rank 0's weights.
    std::vector<torch::Tensor> params;
    for (auto& slot : optimizer_->slots()) params.push_back(slot.param);
    group_->broadcast_from_rank0(params);
    if (!o_.quiet)
      std::cerr << "gliclass train: " << world_size() << " data-parallel workers, " << o_.batch_size * world_size()
                << " examples per micro-batch\n";
  }
}

const std::vector<size_t>& Trainer::order(int64_t epoch) {
  if (epoch != cached_epoch_) {
    order_.resize(train_.size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    Rng rng(mix_seed(o_.seed, kOrderStream + static_cast<uint64_t>(epoch)));
    shuffle(order_, rng);
    cached_epoch_ = epoch;
  }
  return order_;
}

// One optimizer step over up to grad_accum micro-batches of the current
// epoch; returns the mean loss of its micro-batches.
double Trainer::train_step() {
  model_->train();
  const auto& perm = order(state_.epoch);
  const int64_t group_end = std::min(batches_per_epoch_, state_.batch_in_epoch + o_.grad_accum);
  const int64_t group = group_end - state_.batch_in_epoch;
  const int64_t workers = world_size();
  double loss_sum = 0;
  int64_t used = 0;
  for (int64_t b = state_.batch_in_epoch; b < group_end; ++b) {
    // This worker's slice of micro-batch b.
    const size_t begin = std::min(train_.size(), static_cast<size_t>((b * workers + rank()) * o_.batch_size));
    const size_t end = std::min(train_.size(), begin + static_cast<size_t>(o_.batch_size));
    std::vector<TrainExample> views;
    for (size_t pos = begin; pos < end; ++pos) {
      Rng rng(mix_seed(o_.seed, kExampleStream + (static_cast<uint64_t>(state_.epoch) << 32) + pos));
      views.push_back(augmenter_->draw(perm[pos], rng));
    }
    std::vector<size_t> dropped;
    TrainBatch batch;
    if (!views.empty())
      batch = make_batch(views, *tokenizer_, config_, o_.max_length, loss_.single_label, pad_id_, &dropped);
    for (size_t line : dropped) {
      if (dropped_ + 1 <= 5 && !o_.quiet)
        std::cerr << "\ngliclass train: skipping the example at line " << line
                  << " here: its labels alone need more than max_length (" << o_.max_length << ") tokens\n";
    }
    std::optional<LossParts> parts;
    if (batch.input.input_ids.defined()) {
      const uint64_t micro_batch = static_cast<uint64_t>((state_.epoch * batches_per_epoch_ + b) * workers + rank());
      torch::manual_seed(mix_seed(o_.seed, kDropoutStream + micro_batch));
      parts = model_loss_parts(model_->forward(batch.input), batch.targets, loss_);
    }
    // The micro-batch's counts over all workers: loss normalisers, examples, skipped.
    std::vector<double> counts = {parts ? parts->main.count : 0.0,
                                  parts && parts->contrastive ? parts->contrastive->count : 0.0,
                                  static_cast<double>(views.size() - dropped.size()),
                                  static_cast<double>(dropped.size())};
    if (group_) sum_across_workers(counts);
    state_.examples_seen += static_cast<uint64_t>(counts[2]);
    dropped_ += static_cast<size_t>(counts[3]);
    if (counts[2] == 0) continue;
    ++used;
    if (!parts) continue;
    auto loss = parts->combine(counts[0], counts[1]);
    (loss / static_cast<double>(group)).backward();
    loss_sum += loss.item<double>();
  }
  stop_ = SigintScope::requested();
  if (group_) {
    // Gradients summed across workers (each already divided by the global
    // counts), with the loss and the stop request in the same collective.
    std::vector<torch::Tensor> grads;
    std::vector<double> extra = {loss_sum, stop_ ? 1.0 : 0.0};
    for (auto& slot : optimizer_->slots()) {
      auto& g = slot.param.mutable_grad();
      extra.push_back(g.defined() ? 1.0 : 0.0);
      if (!g.defined()) g = torch::zeros_like(slot.param);
      grads.push_back(g);
    }
    auto extras = torch::tensor(extra, torch::kFloat64).to(grads.front().scalar_type());
    grads.push_back(extras);
    group_->sum(grads);
    const auto summed = extras.to(torch::kFloat64);
    const auto* e = summed.data_ptr<double>();
    loss_sum = e[0];
    stop_ = e[1] > 0;
    // A parameter no worker produced a gradient for is skipped, as in one process.
    auto& slots = optimizer_->slots();
    for (size_t i = 0; i < slots.size(); ++i)
      if (e[i + 2] == 0) slots[i].param.mutable_grad() = torch::Tensor();
  }
  last_grad_norm_ = clip_grad_norm(optimizer_->slots(), o_.max_grad_norm);
  last_multiplier_ = lr_multiplier(o_.schedule, state_.global_step, warmup_, state_.total_steps);
  optimizer_->step(last_multiplier_);
  optimizer_->zero_grad();
  ++state_.global_step;
  state_.batch_in_epoch = group_end;
  if (state_.batch_in_epoch >= batches_per_epoch_) {
    ++state_.epoch;
    state_.batch_in_epoch = 0;
  }
  return used ? loss_sum / static_cast<double>(used) : 0.0;
}

void Trainer::sum_across_workers(std::vector<double>& values) {
  auto t = torch::tensor(values, torch::kFloat64);
  group_->sum({t});
  const auto* data = t.data_ptr<double>();
  values.assign(data, data + values.size());
}

EvalReport Trainer::evaluate_dev() {
  return evaluate_model(model_, tokenizer_, config_, dev_, o_.max_length, o_.eval_batch_size, o_.threshold,
                        loss_.single_label);
}

model::ModelPtr Trainer::load_model_to_train(const fs::path& checkpoint) const {
  if (!o_.lora) return load_trainable_model(checkpoint.empty() ? o_.model_dir : checkpoint, config_);
  auto model = load_trainable_model(o_.model_dir, config_);
  model::add_trainable_lora(*model, *o_.lora);
  if (!checkpoint.empty()) {
    // The saved adapter's A and B and heads back into the trainable parameters.
    torch::NoGradGuard no_grad;
    auto params = model->named_parameters();
    const auto saved = io::read_peft_adapter(checkpoint);
    const std::string prefix = "model.";
    for (const auto& [path, layer] : saved.layers) {
      const auto name = path.substr(prefix.size());
      params[name + ".lora_A"].copy_(layer.A);
      params[name + ".lora_B"].copy_(layer.B);
    }
    for (const auto& [path, value] : saved.replaced) params[path.substr(prefix.size())].copy_(value);
  }
  return model;
}

void Trainer::write_model(const fs::path& dir) {
  if (!o_.lora) return write_model_files(dir, *model_, config_, o_.model_dir);
  io::LoraConfig config = *o_.lora;
  config.base_model_name_or_path = fs::absolute(o_.model_dir).string();
  io::write_peft_adapter(dir, model::trained_adapter(*model_, config));
}

void Trainer::save_last() {
  write_dir_atomically(o_.out_dir / "last", [&](const fs::path& tmp) {
    write_model(tmp);
    io::save_safetensors(tmp / kOptimizerFile, optimizer_->state(), {{"format", "gliclass-adamw"}});
    write_file_synced(tmp / kTrainStateFile, state_.to_json().dump(2) + "\n");
  });
  last_saved_step_ = state_.global_step;
}

void Trainer::save_best() {
  write_dir_atomically(o_.out_dir / "best",
                       [&](const fs::path& tmp) { write_model(tmp); });
}

void Trainer::append_metrics(const json& line) {
  if (!main_) return;
  std::ofstream out(metrics_file_, std::ios::app);
  if (!out) throw Error("train: cannot append to " + metrics_file_.string());
  out << line.dump() << "\n";
}

void Trainer::progress(double loss, double seconds, double examples_per_s, double grad_norm, double mult) {
  if (o_.quiet) return;
  const int64_t step = state_.global_step, total = state_.total_steps;
  std::ostringstream line;
  line << "step " << step << "/" << total << " epoch " << state_.epoch + 1 << " loss " << std::fixed
       << std::setprecision(4) << loss << " lr " << std::scientific << std::setprecision(2)
       << o_.optimizer.others_lr * mult << std::fixed << " |g| " << std::setprecision(3) << grad_norm << " "
       << std::setprecision(1) << examples_per_s << " ex/s";
  if (seconds > 0 && step > 0) line << " eta " << format_duration(seconds);
  if (tty_) {
    const int width = 24;
    const int filled = static_cast<int>(width * step / std::max<int64_t>(1, total));
    std::cerr << "\r[" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << line.str()
              << "   " << std::flush;
  } else {
    std::cerr << "gliclass train: " << line.str() << "\n";
  }
}

TrainSummary Trainer::run() {
  setup();
  SigintScope sigint;
  TrainSummary summary;
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  const int64_t first_step = state_.global_step;
  auto window_start = started;
  double window_loss = 0;
  int64_t window_steps = 0;
  uint64_t window_examples = 0;

  while (state_.global_step < state_.total_steps) {
    if (stop_) break;
    if (o_.stop_at_step > 0 && state_.global_step >= o_.stop_at_step) break;
    const int64_t epoch_before = state_.epoch;
    const uint64_t seen_before = state_.examples_seen;
    const double loss = train_step();
    if (!std::isfinite(loss))
      throw Error("train: the loss is " + std::to_string(loss) + " at step " + std::to_string(state_.global_step) +
                  " (try a lower learning rate)");
    window_loss += loss;
    ++window_steps;
    window_examples += state_.examples_seen - seen_before;
    const int64_t step = state_.global_step;

    if ((o_.log_steps > 0 && step % o_.log_steps == 0) || step == state_.total_steps) {
      const auto now = clock::now();
      const double secs = std::chrono::duration<double>(now - window_start).count();
      const double elapsed = std::chrono::duration<double>(now - started).count();
      const double rate = static_cast<double>(window_examples) / std::max(secs, 1e-9);
      const double mean = window_loss / static_cast<double>(window_steps);
      summary.last_loss = mean;
      const double eta = elapsed / static_cast<double>(step - first_step) *
                         static_cast<double>(state_.total_steps - step);
      json line = {{"type", "train"},
                   {"step", step},
                   {"epoch", static_cast<double>(state_.epoch) +
                                 static_cast<double>(state_.batch_in_epoch) / static_cast<double>(batches_per_epoch_)},
                   {"loss", mean},
                   {"lr_encoder", o_.optimizer.encoder_lr * last_multiplier_},
                   {"lr_others", o_.optimizer.others_lr * last_multiplier_},
                   {"grad_norm", last_grad_norm_},
                   {"skipped_examples", dropped_},
                   {"examples_per_s", rate},
                   {"elapsed_s", elapsed}};
      append_metrics(line);
      progress(mean, eta, rate, last_grad_norm_, last_multiplier_);
      window_start = now;
      window_loss = 0;
      window_steps = 0;
      window_examples = 0;
    }

    const bool epoch_end = state_.epoch != epoch_before;
    if (main_ && !dev_.empty() && ((o_.eval_steps > 0 && step % o_.eval_steps == 0) || epoch_end || step == state_.total_steps)) {
      if (tty_) std::cerr << "\n";
      EvalReport r = evaluate_dev();
      const bool better = !state_.best_metric || r.micro_f1 > *state_.best_metric;
      append_metrics({{"type", "eval"},
                      {"step", step},
                      {"examples", r.examples},
                      {"micro_f1", r.micro_f1},
                      {"macro_f1", r.macro_f1},
                      {"precision", r.micro_precision},
                      {"recall", r.micro_recall},
                      {"accuracy", r.accuracy},
                      {"best_threshold", r.best_threshold},
                      {"best_threshold_micro_f1", r.best_micro_f1},
                      {"new_best", better}});
      if (!o_.quiet)
        std::cerr << "gliclass train: dev step " << step << ": micro-F1 " << std::fixed << std::setprecision(4)
                  << r.micro_f1 << " macro-F1 " << r.macro_f1 << " (best threshold " << std::setprecision(3)
                  << r.best_threshold << ": " << std::setprecision(4) << r.best_micro_f1 << ")"
                  << (better ? " new best" : "") << "\n";
      if (better) {
        state_.best_metric = r.micro_f1;
        state_.best_step = step;
        save_best();
      }
      summary.last_eval = r;
    }
    if (main_ && o_.save_steps > 0 && step % o_.save_steps == 0) save_last();
  }
  if (tty_) std::cerr << "\n";
  if (dropped_ > 5 && !o_.quiet)
    std::cerr << "gliclass train: " << dropped_ << " example views were skipped in all (labels longer than max_length)\n";
  if (main_ && last_saved_step_ != state_.global_step) save_last();
  if (group_) group_->barrier();  // every worker returns once last/ is written
  if (stop_ && !o_.quiet)
    std::cerr << "gliclass train: interrupted; resume with --resume (step " << state_.global_step << ")\n";

  summary.steps = state_.global_step;
  summary.total_steps = state_.total_steps;
  summary.finished = state_.global_step >= state_.total_steps;
  summary.best_micro_f1 = state_.best_metric;
  summary.best_step = state_.best_step;
  summary.last_dir = o_.out_dir / "last";
  summary.rank = static_cast<int>(rank());
  if (state_.best_metric) summary.best_dir = o_.out_dir / "best";
  return summary;
}

}  // namespace

TrainSummary run_training(const TrainOptions& options) { return Trainer(options).run(); }

}  // namespace gliclass::train
