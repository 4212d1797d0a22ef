// config.json -> GLiClassConfig (src/io/config.cpp), and back: a config that
// loads must write out and load again.
#include "fuzz_util.h"
#include "io/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gliclass::fuzz::MemFile file(gliclass::fuzz::as_view(data, size));
  gliclass::fuzz::expect_library_errors([&] {
    const auto config = gliclass::io::GLiClassConfig::from_file(file.path());
    (void)config.encoder_model_type();
    const auto again = gliclass::io::GLiClassConfig::from_json(config.to_json());
    if (again.architecture_type != config.architecture_type || again.hidden_size != config.hidden_size)
      std::abort();
  });
  return 0;
}
