#pragma once
#include <CLI/CLI.hpp>

namespace gliclass::cli {
// Registers `gliclass train` (fine-tune a GLiClass checkpoint on labelled data);
// the callback runs it and sets the exit code.
void add_train_command(CLI::App& app, int& exit_code);
}  // namespace gliclass::cli
