// `gliclass info --model DIR|ID`: architecture, backbone sizes, heads,
// parameter count, special token ids and tokenizer of a checkpoint, as JSON.
#include "info_command.h"

#include <iostream>
#include <memory>

#include "io/hub.h"
#include "pipeline/model_info.h"

namespace gliclass::cli {

void add_info_command(CLI::App& app, int& exit_code) {
  auto model = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("info", "Describe a model: architecture, sizes, special tokens, tokenizer (JSON)");
  cmd->add_option("--model,-m", *model, "Model directory or Hub id (org/name[@revision])")->required();
  cmd->callback([model, &exit_code]() {
    std::cout << pipeline::describe_model_dir(io::resolve_model_dir(*model)).dump() << std::endl;
    exit_code = 0;
  });
}

}  // namespace gliclass::cli
