// What a model directory holds, for `gliclass info`: architecture, backbone
// sizes, heads, parameter count and weight format, special token ids and the
// tokenizer, read without building the model.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>

namespace gliclass::pipeline {

// ModelError naming the file when the directory is not a loadable checkpoint.
nlohmann::json describe_model_dir(const std::filesystem::path& dir);

}  // namespace gliclass::pipeline
