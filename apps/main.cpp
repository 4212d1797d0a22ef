// The gliclass command line: subcommands over the library (no tensor code here).
#include <CLI/CLI.hpp>

#include <iostream>

#include "bench_command.h"
#include "classify_command.h"
#include "eval_command.h"
#include "info_command.h"
#include "init_command.h"
#include "merge_adapter_command.h"
#include "serve_command.h"
#include "stream_command.h"
#include "train_command.h"
#include "train_rl_command.h"
#include "gliclass/gliclass.h"
#include "runtime/allocator.h"

int main(int argc, char** argv) {
  gliclass::runtime::keep_freed_memory();  // batched forwards without page-fault churn
  CLI::App app{"gliclass: zero-shot text classification with GLiClass models"};
  app.set_version_flag("--version", std::string(gliclass::kVersion));
  app.require_subcommand(1);
  int exit_code = 0;
  gliclass::cli::add_classify_command(app, exit_code);
  gliclass::cli::add_serve_command(app, exit_code);
  gliclass::cli::add_stream_command(app, exit_code);
  gliclass::cli::add_train_command(app, exit_code);
  gliclass::cli::add_train_rl_command(app, exit_code);
  gliclass::cli::add_eval_command(app, exit_code);
  gliclass::cli::add_init_command(app, exit_code);
  gliclass::cli::add_bench_command(app, exit_code);
  gliclass::cli::add_info_command(app, exit_code);
  gliclass::cli::add_merge_adapter_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const gliclass::Error& e) {
    std::cerr << "gliclass: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "gliclass: internal error: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}
