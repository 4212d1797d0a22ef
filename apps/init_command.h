#pragma once
#include <CLI/CLI.hpp>

namespace gliclass::cli {
// Registers `gliclass init` (a random-weight model directory to train from scratch).
void add_init_command(CLI::App& app, int& exit_code);
}  // namespace gliclass::cli
