// `gliclass merge-adapter`: a checkpoint with a PEFT LoRA adapter merged into
// its weights (W += s B A), written in Hugging Face layout like any model.
#include "merge_adapter_command.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>

#include "io/config.h"
#include "io/hub.h"
#include "io/peft_adapter.h"
#include "model/adapters.h"
#include "model/model.h"
#include "train/checkpoint.h"

namespace gliclass::cli {
namespace {

struct MergeArgs {
  std::string model, adapter, out;
};

int run_merge(const MergeArgs& a) {
  const auto dir = io::resolve_model_dir(a.model);
  const auto config = io::GLiClassConfig::from_file(dir / "config.json");
  auto model = model::load_model(dir, config);
  const auto adapter = io::read_peft_adapter(a.adapter);
  model::merge_adapter(*model, adapter);
  train::write_dir_atomically(a.out, [&](const std::filesystem::path& tmp) {
    train::write_model_files(tmp, *model, config, dir);
  });
  std::cout << nlohmann::json{{"out", a.out}, {"lora_layers", adapter.layers.size()},
                              {"replaced_tensors", adapter.replaced.size()}}
                   .dump()
            << std::endl;
  return 0;
}

}  // namespace

void add_merge_adapter_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<MergeArgs>();
  auto* cmd = app.add_subcommand("merge-adapter", "Merge a PEFT LoRA adapter into a model and save the result");
  cmd->add_option("--model,-m", args->model, "Base model directory (Hugging Face layout)")->required();
  cmd->add_option("--adapter,-a", args->adapter, "PEFT adapter directory (adapter_config.json + weights)")->required();
  cmd->add_option("--out,-o", args->out, "Output model directory")->required();
  cmd->callback([args, &exit_code]() { exit_code = run_merge(*args); });
}

}  // namespace gliclass::cli
