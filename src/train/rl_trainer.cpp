#include "train/rl_trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "encoders/encoder.h"
#include "gliclass/error.h"
#include "io/config.h"
#include "model/model.h"
#include "runtime/allocator.h"
#include "tokenize/tokenizer.h"
#include "train/batch.h"
#include "train/checkpoint.h"
#include "train/random.h"
#include "train/rewards.h"
#include "train/scoring.h"

namespace gliclass::train {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr uint64_t kOrderStream = 1ULL << 40;

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
    const auto h = encoder->forward({ids, mask, {}, {}, false}).last_hidden_state;
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

}  // namespace

RlSummary run_rl_training(const RlOptions& o) {
  if (o.batch_size < 1 || o.ppo.num_rl_iters < 1) throw InputError("rl: batch size and --num-rl-iters must be >= 1");
  if (o.ppo.actions != "bernoulli" && o.ppo.actions != "threshold")
    throw InputError("rl: actions must be bernoulli or threshold (got " + o.ppo.actions + ")");
  if (!(o.ppo.clip > 0 && o.ppo.clip < 1)) throw InputError("rl: the clip range must be in (0, 1)");
  const auto rewards = parse_reward_components(o.rewards);
  if (o.threads > 0) torch::set_num_threads(o.threads);
  runtime::keep_freed_memory();
  torch::manual_seed(o.seed);

  auto config = io::GLiClassConfig::from_file(o.model_dir / "config.json");
  if (config.architecture_type != "uni-encoder")
    throw ModelError("rl: only uni-encoder models can be trained (got " + config.architecture_type + ")");
  std::shared_ptr<const tokenize::Tokenizer> tokenizer = tokenize::Tokenizer::from_dir(o.model_dir);
  const int64_t pad_id = config.pad_token_id.value_or(tokenizer->pad_id());
  const auto data = load_all(o);
  std::vector<TrainExample> dev;
  if (!o.dev_file.empty()) dev = load_examples(o.dev_file);

  auto policy = load_trainable_model(o.model_dir, config);
  AdamW optimizer(parameter_groups(*policy, o.optimizer), o.optimizer);
  model::ModelPtr reference;  // the frozen start, for the KL term
  if (o.ppo.kl_beta > 0) {
    reference = model::load_model(o.model_dir, config);
    reference->eval();
  }
  ValueModel value{nullptr};
  std::unique_ptr<torch::optim::Adam> value_optimizer;
  if (o.value_model) {
    value = ValueModel(config, *policy);
    value_optimizer = std::make_unique<torch::optim::Adam>(value->parameters(), torch::optim::AdamOptions(o.value_lr));
  }

  const auto n = static_cast<int64_t>(data.size());
  const int64_t per_epoch = (n + o.batch_size - 1) / o.batch_size;
  const int64_t total = o.max_steps > 0 ? o.max_steps : per_epoch * std::max<int64_t>(1, o.epochs);
  fs::create_directories(o.out_dir);
  const fs::path metrics_file = o.out_dir / "metrics.jsonl";
  fs::remove(metrics_file);
  fs::remove_all(o.out_dir / "best");
  auto log_line = [&](const json& line) {
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
    if (!summary.best_micro_f1 || summary.last_eval->micro_f1 > *summary.best_micro_f1) {
      summary.best_micro_f1 = summary.last_eval->micro_f1;
      summary.best_dir = o.out_dir / "best";
      write_dir_atomically(summary.best_dir, [&](const fs::path& tmp) { write_model_files(tmp, *policy, config, o.model_dir); });
    }
  };
  auto save_last = [&] {
    write_dir_atomically(summary.last_dir, [&](const fs::path& tmp) { write_model_files(tmp, *policy, config, o.model_dir); });
  };

  std::vector<size_t> order(data.size());
  std::map<std::string, double> sums;  // over the current log interval
  int64_t logged = 0;
  const auto start = std::chrono::steady_clock::now();
  policy->train();
  for (int64_t step = 0; step < total; ++step) {
    const int64_t epoch = step / per_epoch, in_epoch = step % per_epoch;
    if (in_epoch == 0) {
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      Rng rng(mix_seed(o.seed, kOrderStream + static_cast<uint64_t>(epoch)));
      shuffle(order, rng);
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
        if (o.max_grad_norm > 0) torch::nn::utils::clip_grad_norm_(value->parameters(), o.max_grad_norm);
        value_optimizer->step();
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
    if (done % std::max<int64_t>(1, o.log_steps) == 0 || done == total) {
      json line{{"step", done}, {"epoch", epoch + 1}};
      for (const auto& [name, sum] : sums) line[name] = sum / static_cast<double>(logged);
      summary.mean_reward = line["reward"].get<double>();
      log_line(line);
      if (!o.quiet) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cerr << "\rstep " << done << "/" << total << " reward " << std::fixed << std::setprecision(4)
                  << summary.mean_reward << " kl " << line["kl"].get<double>() << " clip "
                  << line["clip_fraction"].get<double>() << " entropy " << line["entropy"].get<double>() << " "
                  << std::setprecision(1) << done * o.batch_size / std::max(secs, 1e-9) << " ex/s   " << std::flush;
      }
      sums.clear();
      logged = 0;
    }
    if (o.eval_steps > 0 && done % o.eval_steps == 0 && done != total) evaluate_and_keep_best(done);
    if (o.save_steps > 0 && done % o.save_steps == 0 && done != total) save_last();
  }
  evaluate_and_keep_best(total);
  save_last();
  if (!o.quiet) std::cerr << "\n";
  summary.steps = total;
  return summary;
}

}  // namespace gliclass::train
