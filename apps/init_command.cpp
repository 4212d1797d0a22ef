// `gliclass init`: a model directory with random weights, the starting point
// of training from scratch (and of benchmarks on real shapes). The tokenizer
// is trained on the training data's texts and labels, or copied from a
// directory that has GLiClass's marker tokens. The last stdout line is JSON.
#include "init_command.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "train/scratch.h"

namespace gliclass::cli {

void add_init_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<train::ScratchOptions>();
  auto* cmd = app.add_subcommand("init", "Write a randomly initialised GLiClass model to train from scratch");
  cmd->add_option("--config,-c", o->config_file, "GLiClass config.json (architecture and nested encoder_config)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", o->out_dir, "Model directory to write")->required();
  auto* data = cmd->add_option("--train-tokenizer", o->corpus_files,
                               "Training data (JSON/JSONL) whose texts and labels train a SentencePiece tokenizer")
                   ->check(CLI::ExistingFile);
  cmd->add_option("--vocab-size", o->vocab_size, "SentencePiece pieces (with --train-tokenizer)")
      ->check(CLI::Range(8, 1 << 20))
      ->capture_default_str();
  auto* tok = cmd->add_option("--tokenizer", o->tokenizer_dir,
                              "Tokenizer directory to copy (must have <<LABEL>>, <<SEP>>, <<EXAMPLE>>)")
                  ->check(CLI::ExistingDirectory);
  data->excludes(tok);
  cmd->add_option("--seed", o->seed, "Seed of the weight initialisation")->capture_default_str();
  cmd->callback([o, &exit_code]() {
    const int64_t params = train::init_model_dir(*o);
    std::cout << nlohmann::json{{"model", o->out_dir.string()}, {"parameters", params}}.dump() << std::endl;
    exit_code = 0;
  });
}

}  // namespace gliclass::cli
