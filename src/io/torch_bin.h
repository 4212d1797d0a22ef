// The torch.save reader over bytes already in memory (open_torch_bin in
// checkpoint.h maps the file and uses the same reader); for the fuzz target.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "io/checkpoint.h"

namespace gliclass::io {

// Reads the torch.save archive in the `size` bytes at `data`, which must
// outlive the returned file; `source` names it in error messages.
std::unique_ptr<TensorFile> open_torch_bin_bytes(const char* data, size_t size, const std::string& source);

}  // namespace gliclass::io
