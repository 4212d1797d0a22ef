// Shared helpers for the test suite: where the golden cases are, and JSON
// reading. Tests that need ../shared skip with a message when it is absent.
#pragma once
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace gliclass::testing {

inline std::filesystem::path shared_dir() { return GLICLASS_SHARED_DIR; }
inline std::filesystem::path golden_dir() { return shared_dir() / "golden"; }
inline bool have_golden() { return std::filesystem::exists(golden_dir() / "index.json"); }

inline nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("test: cannot open " + file.string());
  return nlohmann::json::parse(in);
}

// Names of golden cases whose index.json row matches arch and backbone ("" = any).
inline std::vector<std::string> golden_cases(const std::string& arch, const std::string& backbone) {
  std::vector<std::string> out;
  if (!have_golden()) return out;
  for (const auto& row : read_json(golden_dir() / "index.json")) {
    if (!arch.empty() && row.at("arch") != arch) continue;
    if (!backbone.empty() && row.at("backbone") != backbone) continue;
    out.push_back(row.at("case").get<std::string>());
  }
  return out;
}

// |a-b| <= tol, or relative to the larger magnitude.
inline bool close(double a, double b, double tol) {
  double d = std::abs(a - b);
  return d <= tol || d <= tol * std::max(std::abs(a), std::abs(b));
}

}  // namespace gliclass::testing

#define GLICLASS_REQUIRE_GOLDEN()                                                          \
  do {                                                                                     \
    if (!::gliclass::testing::have_golden())                                               \
      GTEST_SKIP() << "golden cases not found at " << ::gliclass::testing::golden_dir()    \
                   << " (../shared beside the checkout); skipping parity test";            \
  } while (0)
