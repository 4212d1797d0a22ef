#pragma once
#include <CLI/CLI.hpp>

namespace gliclass::cli {
// Registers `gliclass eval` (metrics of a model on labelled data); the
// callback runs it and sets the exit code.
void add_eval_command(CLI::App& app, int& exit_code);
}  // namespace gliclass::cli
