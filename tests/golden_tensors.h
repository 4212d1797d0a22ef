// Golden JSON arrays as tensors, and comparisons against them.
#pragma once
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "test_util.h"

namespace gliclass::testing {

// Token ids: [L] as [1,L]; [N][L] as [N,L].
inline torch::Tensor ids_tensor(const nlohmann::json& ids) {
  if (ids.empty() || !ids[0].is_array())
    return torch::tensor(ids.get<std::vector<int64_t>>(), torch::kLong).unsqueeze(0);
  std::vector<torch::Tensor> rows;
  for (const auto& row : ids) rows.push_back(torch::tensor(row.get<std::vector<int64_t>>(), torch::kLong));
  return torch::stack(rows);
}

// A nested JSON array of numbers as a float tensor (shape from the nesting).
inline torch::Tensor json_tensor(const nlohmann::json& j) {
  std::vector<int64_t> shape;
  for (const nlohmann::json* p = &j; p->is_array(); p = &(*p)[0]) shape.push_back(static_cast<int64_t>(p->size()));
  std::vector<float> flat;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& v) {
    if (!v.is_array()) return flat.push_back(v.get<float>());
    for (const auto& x : v) walk(x);
  };
  walk(j);
  return torch::tensor(flat).reshape(shape);
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat) - b.to(torch::kFloat)).abs().max().item<double>();
}

// Largest |a-b| over stored values and the count failing close(tol).
struct Diff {
  double max_abs = 0;
  int failures = 0;
  int count = 0;
  void add(double got, double want, double tol) {
    ++count;
    max_abs = std::max(max_abs, std::abs(got - want));
    if (!close(got, want, tol)) ++failures;
  }
};

// Adds every element of `got` against the stored array `want` (any nesting,
// same number of elements) to `d`.
inline void compare_json(const nlohmann::json& want, const torch::Tensor& got, double tol, Diff& d) {
  const auto expected = json_tensor(want).to(torch::kDouble).reshape(-1);
  const auto g = got.contiguous().to(torch::kDouble).reshape(-1);
  ASSERT_EQ(expected.numel(), g.numel());
  auto e = expected.accessor<double, 1>();
  auto a = g.accessor<double, 1>();
  for (int64_t i = 0; i < g.numel(); ++i) d.add(a[i], e[i], tol);
}

}  // namespace gliclass::testing
