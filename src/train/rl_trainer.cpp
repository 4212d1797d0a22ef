#include "train/rl_trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "encoders/encoder.h"
#include "gliclass/error.h"
#include "io/config.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "pipeline/prompt.h"
#include "runtime/allocator.h"
#include "runtime/threads.h"
#include "tokenize/tokenizer.h"
#include "train/batch.h"
#include "train/checkpoint.h"
#include "train/random.h"
#include "train/rewards.h"
#include "train/scoring.h"
#include "train/train_state.h"

namespace gliclass::train {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

constexpr const char* kRlStateFile = "rl_state.safetensors";

// V(x): the policy's encoder (a copy) and a scalar head on the first token.
class ValueModelImpl : public torch::nn::Module {
 public:
  ValueModelImpl(const io::GLiClassConfig& config, model::GLiClassModelImpl& policy) {
    encoder = register_module("encoder", encoders::make_encoder(config.encoder_config));
    head = register_module("head", torch::nn::Linear(encoder->hidden_size(), 1));
    torch::NoGradGuard no_grad;
    auto mine = encoder->named_parameters();
    for (const auto& p : policy.named_parameters()) {
      const std::string prefix = "encoder_model.";
      if (p.key().rfind(prefix, 0) == 0 && mine.contains(p.key().substr(prefix.size())))
        mine[p.key().substr(prefix.size())].copy_(p.value());
    }
  }
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask) {
    encoders::EncoderInput in;
    in.input_ids = ids;
    in.attention_mask = mask;
    const auto h = encoder->forward(in).last_hidden_state;
    return head->forward(h.select(1, 0)).squeeze(-1);  // [B]
  }
  encoders::EncoderPtr encoder;
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(ValueModel);

std::vector<RlExample> load_all(const RlOptions& o) {
  std::vector<RlExample> out;
  if (!o.train_file.empty()) out = load_rl_examples(o.train_file);
  if (!o.feedback_file.empty()) {
    auto more = load_feedback(o.feedback_file);
    out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  }
  if (out.empty()) throw InputError("rl: no training examples (give --data and/or --feedback with some in them)");
  return out;
}

// What else a resume needs: the sampling generator (actions and dropout draw
// from LibTorch's default CPU generator) and the value model with its optimizer.
void save_rl_state(const fs::path& file, const ValueModel& value, const AdamW* value_optimizer) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    tensors.emplace_back("generator", generator.get_state());
  }
  if (value) {
    for (const auto& p : value->named_parameters()) tensors.emplace_back("value." + p.key(), p.value().detach());
    for (auto& [name, t] : value_optimizer->state()) tensors.emplace_back("value_optimizer." + name, t);
  }
  io::save_safetensors(file, tensors, {{"format", "gliclass-rl-state"}});
}

void restore_rl_state(const fs::path& file, ValueModel& value, AdamW* value_optimizer) {
  auto generator_state = read_state_tensors(file, "generator");
  if (generator_state.size() != 1) throw ModelError("resume: " + file.string() + " lacks the generator state");
  auto generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(generator_state[0].second.to(torch::kByte));  // the reader widens U8
  }
  if (!value) return;
  auto saved = read_state_tensors(file, "value.");
  if (saved.empty()) throw ModelError("resume: " + file.string() + " has no value model (was --value-model off?)");
  auto params = value->named_parameters();
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : saved) {
    auto* p = params.find(name);
    if (!p || p->sizes() != t.sizes()) throw ModelError("resume: value model tensor '" + name + "' does not fit");
    p->copy_(t);
  }
  value_optimizer->load_state(read_state_tensors(file, "value_optimizer."));
}

}  // namespace

RlSummary run_rl_training(const RlOptions& o) {
  if (o.batch_size < 1 || o.ppo.num_rl_iters < 1) throw InputError("rl: batch size and --num-rl-iters must be >= 1");
  if (o.ppo.actions != "bernoulli" && o.ppo.actions != "threshold")
    throw InputError("rl: actions must be bernoulli or threshold (got " + o.ppo.actions + ")");
  if (!(o.ppo.clip > 0 && o.ppo.clip < 1)) throw InputError("rl: the clip range must be in (0, 1)");
  const auto rewards = parse_reward_components(o.rewards);
  runtime::set_threads(o.threads);
  runtime::keep_freed_memory();
  torch::manual_seed(o.seed);

  auto config = io::GLiClassConfig::from_file(o.model_dir / "config.json");
  if (config.architecture_type != "uni-encoder")
    throw ModelError("rl: only uni-encoder models can be trained (got " + config.architecture_type + ")");
  std::shared_ptr<const tokenize::Tokenizer> tokenizer = tokenize::Tokenizer::from_dir(o.model_dir);
  pipeline::check_special_tokens(*tokenizer, config, o.model_dir);
  const int64_t pad_id = config.pad_token_id.value_or(tokenizer->pad_id());
  const auto data = load_all(o);
  std::vector<TrainExample> dev;
  if (!o.dev_file.empty()) dev = load_examples(o.dev_file);

  const auto n = static_cast<int64_t>(data.size());
  const int64_t per_epoch = (n + o.batch_size - 1) / o.batch_size;
  TrainState state;
  state.seed = o.seed;
  state.total_steps = o.max_steps > 0 ? o.max_steps : per_epoch * std::max<int64_t>(1, o.epochs);
  state.batch_size = o.batch_size;
  state.grad_accum = 1;
  state.train_examples = data.size();
  const int64_t total = state.total_steps;

  const fs::path metrics_file = o.out_dir / "metrics.jsonl";
  const RunStart run = start_run(o.out_dir, o.model_dir, o.resume, state, true, o.quiet, "gliclass train-rl");
  state = run.state;

  auto policy = load_trainable_model(run.resuming ? run.last : o.model_dir, config);
  AdamW optimizer(parameter_groups(*policy, o.optimizer), o.optimizer);
  model::ModelPtr reference;  // the frozen start, for the KL term
  if (o.ppo.kl_beta > 0) {
    reference = model::load_model(o.model_dir, config);
    reference->eval();
  }
  ValueModel value{nullptr};
  std::unique_ptr<AdamW> value_optimizer;
  if (o.value_model) {
    value = ValueModel(config, *policy);
    OptimizerOptions adam;  // one group, no weight decay: Adam
    std::vector<ParamSlot> slots;
    for (const auto& p : value->named_parameters()) {
      ParamSlot slot;
      slot.name = p.key();
      slot.param = p.value();
      slot.lr = o.value_lr;
      slots.push_back(std::move(slot));
    }
    value_optimizer = std::make_unique<AdamW>(std::move(slots), adam);
  }
  if (run.resuming) {
    optimizer.load_state(read_state_tensors(run.last / kOptimizerFile));
    restore_rl_state(run.last / kRlStateFile, value, value_optimizer.get());
  }

  auto log_line = [&](const ojson& line) {
    std::ofstream out(metrics_file, std::ios::app);
    out << line.dump() << "\n";
  };
  RlSummary summary;
  summary.last_dir = o.out_dir / "last";
  auto evaluate_and_keep_best = [&](int64_t step) {
    if (dev.empty()) return;
    summary.last_eval = evaluate_model(policy, tokenizer, config, dev, o.max_length, o.eval_batch_size, o.threshold, false);
    log_line({{"step", step}, {"dev_micro_f1", summary.last_eval->micro_f1}, {"dev_macro_f1", summary.last_eval->macro_f1}});
    if (!o.quiet) std::cerr << "\ngliclass train-rl: step " << step << " dev micro-F1 " << summary.last_eval->micro_f1 << "\n";
    if (!state.best_metric || summary.last_eval->micro_f1 > *state.best_metric) {
      state.best_metric = summary.last_eval->micro_f1;
      state.best_step = step;
      write_dir_atomically(o.out_dir / "best", [&](const fs::path& tmp) { write_model_files(tmp, *policy, config, o.model_dir); });
    }
  };
  auto save_last = [&] {
    write_dir_atomically(summary.last_dir, [&](const fs::path& tmp) {
      write_model_files(tmp, *policy, config, o.model_dir);
      io::save_safetensors(tmp / kOptimizerFile, optimizer.state(), {{"format", "gliclass-adamw"}});
      save_rl_state(tmp / kRlStateFile, value, value_optimizer.get());
      write_file_synced(tmp / kTrainStateFile, state.to_json().dump(2) + "\n");
    });
  };

  std::vector<size_t> order(data.size());
  int64_t order_epoch = -1;
  std::map<std::string, double> sums;  // over the current log interval
  int64_t logged = 0;
  const auto start = std::chrono::steady_clock::now();
  const int64_t first_step = state.global_step;
  SigintScope sigint;
  policy->train();
  for (int64_t step = first_step; step < total; ++step) {
    const int64_t epoch = step / per_epoch, in_epoch = step % per_epoch;
    if (epoch != order_epoch) {
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      Rng rng(mix_seed(o.seed, kOrderStream + static_cast<uint64_t>(epoch)));
      shuffle(order, rng);
      order_epoch = epoch;
    }
    std::vector<TrainExample> examples;
    std::vector<const RlExample*> rows;
    for (int64_t i = in_epoch * o.batch_size; i < std::min(n, (in_epoch + 1) * o.batch_size); ++i) {
      rows.push_back(&data[order[static_cast<size_t>(i)]]);
      examples.push_back(rows.back()->example);
    }
    TrainBatch batch = make_batch(examples, *tokenizer, config, o.max_length, false, pad_id);
    // Only judged candidates count; a user reward where the examples give one.
    auto mask = batch.targets.mask.clone();
    auto user = torch::zeros({static_cast<int64_t>(rows.size())});
    auto mask_a = mask.accessor<float, 2>();
    auto user_a = user.accessor<float, 1>();
    bool any_user = false;
    for (size_t b = 0; b < rows.size(); ++b) {
      const auto row = static_cast<int64_t>(b);
      for (size_t k = 0; k < rows[b]->judged.size(); ++k)
        if (!rows[b]->judged[k]) mask_a[row][static_cast<int64_t>(k)] = 0.0f;
      if (rows[b]->reward) {
        user_a[row] = *rows[b]->reward;
        any_user = true;
      }
    }
    torch::Tensor reference_probs;
    if (reference) {
      c10::InferenceMode no_grad;
      reference_probs = torch::sigmoid(reference->forward(batch.input).logits).clone();
    }

    torch::Tensor prev_log_probs;
    for (int64_t it = 0; it < o.ppo.num_rl_iters; ++it) {
      const auto logits = policy->forward(batch.input).logits;
      const auto probs = torch::sigmoid(logits);
      const auto actions = sample_actions(probs, o.ppo);
      std::map<std::string, double> parts;
      const auto reward = total_reward(rewards, actions, batch.targets.targets, mask, any_user ? user : torch::Tensor(), &parts);
      torch::Tensor baseline, value_loss;
      if (value) {
        const auto v = value->forward(batch.input.input_ids, batch.input.attention_mask);
        value_loss = torch::mse_loss(v, reward);
        baseline = v.detach();
      } else {
        baseline = reward.mean().expand_as(reward);
      }
      const auto terms = ppo_objective(logits, actions, batch.targets.targets, mask, reward - baseline,
                                       prev_log_probs, reference_probs, o.ppo);
      optimizer.zero_grad();
      terms.loss.backward();
      const double grad_norm = clip_grad_norm(optimizer.slots(), o.max_grad_norm);
      optimizer.step(1.0);
      if (value) {
        value_optimizer->zero_grad();
        value_loss.backward();
        if (o.max_grad_norm > 0) clip_grad_norm(value_optimizer->slots(), o.max_grad_norm);
        value_optimizer->step(1.0);
      }
      prev_log_probs = terms.log_probs;
      sums["reward"] += reward.mean().item<double>();
      for (const auto& [name, mean] : parts) sums["reward_" + name] += mean;
      sums["loss"] += terms.loss.item<double>();
      sums["kl"] += terms.kl;
      sums["entropy"] += terms.entropy;
      sums["clip_fraction"] += terms.clip_fraction;
      sums["advantage_abs"] += (reward - baseline).abs().mean().item<double>();
      sums["grad_norm"] += grad_norm;
      if (value) sums["value_loss"] += value_loss.item<double>();
      ++logged;
    }

    const int64_t done = step + 1;
    state.global_step = done;
    state.epoch = done / per_epoch;
    state.batch_in_epoch = done % per_epoch;
    state.examples_seen += rows.size();
    if (done % std::max<int64_t>(1, o.log_steps) == 0 || done == total) {
      ojson line{{"step", done}, {"epoch", epoch + 1}};
      for (const auto& [name, sum] : sums) line[name] = sum / static_cast<double>(logged);
      summary.mean_reward = line["reward"].get<double>();
      log_line(line);
      if (!o.quiet) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cerr << "\rstep " << done << "/" << total << " reward " << std::fixed << std::setprecision(4)
                  << summary.mean_reward << " kl " << line["kl"].get<double>() << " clip "
                  << line["clip_fraction"].get<double>() << " entropy " << line["entropy"].get<double>() << " "
                  << std::setprecision(1) << (done - first_step) * o.batch_size / std::max(secs, 1e-9)
                  << " ex/s   " << std::flush;
      }
      sums.clear();
      logged = 0;
    }
    if (done == total) break;
    if (o.eval_steps > 0 && done % o.eval_steps == 0) evaluate_and_keep_best(done);
    if (SigintScope::requested() || (o.stop_at_step > 0 && done >= o.stop_at_step)) {
      summary.interrupted = true;
      break;
    }
    if (o.save_steps > 0 && done % o.save_steps == 0) save_last();
  }
  if (!summary.interrupted) evaluate_and_keep_best(total);
  save_last();
  if (!o.quiet) {
    std::cerr << "\n";
    if (summary.interrupted)
      std::cerr << "gliclass train-rl: stopped at step " << state.global_step << "; continue with --resume\n";
  }
  summary.steps = state.global_step;
  summary.best_micro_f1 = state.best_metric;
  if (state.best_metric) summary.best_dir = o.out_dir / "best";
  return summary;
}

}  // namespace gliclass::train
