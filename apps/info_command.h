#pragma once
#include <CLI/CLI.hpp>

namespace gliclass::cli {
// Registers `gliclass info` (what a model directory holds, as JSON).
void add_info_command(CLI::App& app, int& exit_code);
}  // namespace gliclass::cli
