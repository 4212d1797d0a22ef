// Precompiled header for the library and the tests: the LibTorch headers are
// by far the most expensive part of every translation unit.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
