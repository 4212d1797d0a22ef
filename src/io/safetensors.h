// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON
//   {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [b, e]}, ...}
// then the data section, each tensor row-major little-endian at [b, e).
//
// Reading is open_safetensors() in checkpoint.h (memory-mapped; every header
// entry is validated before any data is touched). TensorFile::get() returns
//   F64, F32, F16, BF16          -> float32
//   I64, I32, I16, I8, U8, BOOL  -> int64
// and any other dtype is a ModelError when the file is opened.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace gliclass::io {

// Writes `tensors` in order, each in its own dtype: float32 -> F32, float16 ->
// F16, bfloat16 -> BF16 (also float64 -> F64, int64 -> I64, int32 -> I32,
// int8 -> I8, uint8 -> U8, bool -> BOOL). `metadata` becomes "__metadata__"
// (left out when empty). The file is written beside `file` and renamed into
// place, so readers never see half a file. Duplicate names or another dtype:
// InputError; an I/O failure: Error.
void save_safetensors(const std::filesystem::path& file,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace gliclass::io
