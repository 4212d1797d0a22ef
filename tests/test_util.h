// Shared helpers for the test suite: where the golden cases are, JSON
// reading, temp directories, error messages. Tests that need ../shared skip
// with a message when it is absent.
#pragma once
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gliclass/error.h"

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

// The golden tokenizer directory `name` (golden/tokenizers/<name>).
inline std::filesystem::path tokenizer_dir(const std::string& name) { return golden_dir() / "tokenizers" / name; }

// A fresh empty directory under the system temp dir, unique to this process
// and object, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name = "tmp") {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("gliclass_" + name + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path / name, std::ios::binary) << bytes;
  }
  void copy_from(const std::filesystem::path& dir, const std::string& name) const {
    std::filesystem::copy_file(dir / name, path / name, std::filesystem::copy_options::overwrite_existing);
  }
};

// The message of the ModelError `f` throws ("" and a failure if none).
template <typename F>
std::string model_error_of(F&& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected ModelError, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected ModelError, nothing thrown";
  return "";
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
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
