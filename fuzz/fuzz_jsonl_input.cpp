// The CLI's input reader (apps/input_formats.cpp): the same bytes read as
// JSONL (serve/json_io.cpp's field readers, label trees) and as CSV with a
// "text" column. A bad record must come back as that record's error.
#include <sstream>

#include "fuzz_util.h"
#include "input_formats.h"

namespace {

void read_all(std::string_view bytes, gliclass::cli::InputFormat format) {
  std::istringstream in{std::string(bytes)};
  gliclass::cli::RecordReader reader(in, format, "text");
  gliclass::cli::InputRecord record;
  size_t last_line = 0;
  while (reader.next(record)) {
    if (record.line <= last_line) std::abort();  // line numbers only grow
    last_line = record.line;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = gliclass::fuzz::as_view(data, size);
  using gliclass::cli::InputFormat;
  gliclass::fuzz::expect_library_errors([&] { read_all(bytes, InputFormat::kJsonl); });
  gliclass::fuzz::expect_library_errors([&] { read_all(bytes, InputFormat::kCsv); });
  gliclass::fuzz::expect_library_errors([&] {
    std::istringstream in{std::string(bytes)};
    read_all(bytes, gliclass::cli::detect_format("-", in));
  });
  return 0;
}
