// The pickled state_dict of a torch.save archive (<archive>/data.pkl), read
// by a restricted unpickler: only the opcodes and globals torch.save writes
// for a dict of tensors are accepted (protocol 2, plus the few protocol 4
// opcodes that change nothing: FRAME, MEMOIZE, SHORT_BINUNICODE, ...).
//
// Each tensor is _rebuild_tensor_v2(storage, storage_offset, size, stride,
// requires_grad, backward_hooks[, metadata]), its storage a persistent id
// ('storage', torch.<Type>Storage, key, location, numel) naming the zip entry
// <archive>/data/<key>. Every view is checked against its storage's element
// count here; the caller checks each storage against its entry's byte size.
#pragma once
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gliclass::io {

struct PickledStorage {
  std::string key;  // the entry <archive>/data/<key>
  c10::ScalarType dtype = c10::ScalarType::Float;
  size_t element_size = 4;  // bytes
  uint64_t numel = 0;       // elements
};

struct PickledTensor {
  size_t storage = 0;  // index into PickledStateDict::storages
  int64_t offset = 0;  // storage_offset, in elements
  std::vector<int64_t> sizes, strides;
  int64_t numel = 0;
};

struct PickledStateDict {
  std::vector<PickledStorage> storages;
  std::map<std::string, PickledTensor> tensors;
};

// Limits on what one data.pkl may build (each a ModelError when passed).
struct PickleLimits {
  static constexpr size_t kMaxDepth = 32;            // nested MARKs, and containers in containers
  static constexpr size_t kMaxObjects = size_t{1} << 21;  // values built (~15 per tensor)
  static constexpr size_t kMaxMemo = size_t{1} << 21;     // memo entries
  static constexpr size_t kMaxStack = size_t{1} << 20;    // values on the stack at once
  static constexpr size_t kMaxDims = 64;             // tensor dimensions
  static constexpr size_t kMaxGlobalName = 256;      // bytes in a GLOBAL's module or name
};

// Reads `pickle` (the bytes of data.pkl). Errors are ModelErrors whose
// message starts with `where` and names the offending opcode, global, value
// or tensor.
PickledStateDict read_state_dict_pickle(std::string_view pickle, const std::string& where);

}  // namespace gliclass::io
