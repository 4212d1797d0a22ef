// The gliclass command line: subcommands over the library (no tensor code here).
#include <CLI/CLI.hpp>

#include <iostream>

#include "gliclass/version.h"

int main(int argc, char** argv) {
  CLI::App app{"gliclass: zero-shot text classification with GLiClass models"};
  app.set_version_flag("--version", std::string(gliclass::kVersion));
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
