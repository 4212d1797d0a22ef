// Reading and comparing saved weights (safetensors) in tests.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

#include "io/checkpoint.h"

namespace gliclass::testing {

inline std::map<std::string, torch::Tensor> read_all(const std::filesystem::path& file) {
  auto f = io::open_safetensors(file);
  std::map<std::string, torch::Tensor> out;
  for (const auto& n : f->names()) out[n] = f->get(n);
  return out;
}

// The largest |a - b| over every tensor; a failure for names only one side has.
inline double max_diff(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end()) {
      ADD_FAILURE() << "missing " << name;
      continue;
    }
    d = std::max(d, (t.to(torch::kDouble) - it->second.to(torch::kDouble)).abs().max().item<double>());
  }
  return d;
}

}  // namespace gliclass::testing
