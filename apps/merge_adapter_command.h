#pragma once
#include <CLI/CLI.hpp>

namespace gliclass::cli {
void add_merge_adapter_command(CLI::App& app, int& exit_code);
}  // namespace gliclass::cli
