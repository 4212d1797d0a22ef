// SentencePiece .model files: the protobuf wire-format reader
// (src/tokenize/spm_proto.cpp), the model's checks and its normaliser
// (spm_model.cpp, spm_normalizer.cpp), then encoding a few fixed strings.
#include "fuzz_util.h"
#include "tokenize/spm_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gliclass::fuzz::expect_library_errors([&] {
    using namespace gliclass::tokenize;
    SpmModel model(parse_spm_model(gliclass::fuzz::as_view(data, size), "fuzz.model"), "fuzz.model");
    for (std::string_view text : {"", "Hello, world!", "  caf\xc3\xa9 \xe2\x80\x94 \xc2\xbd  ", "\xff\xfe bad"}) {
      Encoding enc;
      model.encode(text, 0, &enc);
      for (size_t i = 0; i < enc.size(); ++i) {
        if (enc.begin[i] > enc.end[i] || enc.end[i] > text.size()) std::abort();
        if (enc.ids[i] < 0 || static_cast<size_t>(enc.ids[i]) >= model.size()) std::abort();
      }
    }
  });
  return 0;
}
