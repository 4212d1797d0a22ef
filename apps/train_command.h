#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>

#include "train/metrics.h"

namespace gliclass::cli {

// The dev results of a training summary line: best (dir, micro-F1) and last (micro/macro-F1).
void add_dev_results(nlohmann::json& line, const std::optional<double>& best_micro_f1,
                     const std::filesystem::path& best_dir, const std::optional<train::EvalReport>& last_eval);
// Registers `gliclass train` (fine-tune a GLiClass checkpoint on labelled data);
// the callback runs it and sets the exit code.
void add_train_command(CLI::App& app, int& exit_code);
}  // namespace gliclass::cli
