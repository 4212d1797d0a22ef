#pragma once
#include <CLI/CLI.hpp>

namespace gliclass::cli {
// Registers `gliclass bench` (throughput: texts/s per label count, batch size, threads and dtype).
void add_bench_command(CLI::App& app, int& exit_code);
}  // namespace gliclass::cli
