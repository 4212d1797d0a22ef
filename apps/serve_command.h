#pragma once
#include <CLI/CLI.hpp>

namespace gliclass::cli {
// Registers `gliclass serve` on the app; the callback runs the HTTP server
// until SIGTERM/SIGINT and sets the exit code.
void add_serve_command(CLI::App& app, int& exit_code);
}  // namespace gliclass::cli
