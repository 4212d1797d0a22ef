// The torch.save reader (src/io/zip_archive.cpp, torch_pickle.cpp,
// torch_bin.cpp): zip directory, local headers, the restricted unpickler, the
// views against their storages, then every tensor read both ways. The input
// is read in place (open_torch_bin_bytes, not a mapping), so AddressSanitizer
// sees any read past its end.
#include "fuzz_util.h"
#include "io/torch_bin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gliclass::fuzz::expect_library_errors([&] {
    auto tensors = gliclass::io::open_torch_bin_bytes(reinterpret_cast<const char*>(data), size, "fuzz.bin");
    for (const auto& name : tensors->names()) {
      const auto shape = tensors->shape(name);
      torch::Tensor t = tensors->get(name);
      if (t.sizes().vec() != shape || t.scalar_type() != tensors->dtype(name)) std::abort();
      // read_into: the direct copy when the dtypes match, the converting path otherwise.
      for (auto type : {torch::kFloat, torch::kHalf}) {
        torch::Tensor target = torch::empty(shape, torch::TensorOptions().dtype(type));
        tensors->read_into(name, target);
      }
    }
  });
  return 0;
}
