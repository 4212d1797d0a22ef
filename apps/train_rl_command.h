#pragma once
#include <CLI/CLI.hpp>

namespace gliclass::cli {
void add_train_rl_command(CLI::App& app, int& exit_code);
}  // namespace gliclass::cli
