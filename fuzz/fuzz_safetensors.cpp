// The safetensors reader (src/io/safetensors.cpp): header length, JSON header,
// dtypes, shapes and data_offsets, then every tensor read both ways.
#include "fuzz_util.h"
#include "io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gliclass::fuzz::MemFile file(gliclass::fuzz::as_view(data, size));
  gliclass::fuzz::expect_library_errors([&] {
    auto tensors = gliclass::io::open_safetensors(file.path());
    for (const auto& name : tensors->names()) {
      const auto shape = tensors->shape(name);
      torch::Tensor t = tensors->get(name);
      if (t.sizes().vec() != shape) std::abort();
      // read_into: the direct copy for float32, the converting path otherwise.
      torch::Tensor target = torch::empty(shape, torch::TensorOptions().dtype(tensors->dtype(name)));
      tensors->read_into(name, target);
    }
  });
  return 0;
}
