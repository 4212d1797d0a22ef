#pragma once
#include <CLI/CLI.hpp>

namespace gliclass::cli {
// Registers `gliclass stream` on the app; the callback runs it and sets the exit code.
void add_stream_command(CLI::App& app, int& exit_code);
}  // namespace gliclass::cli
