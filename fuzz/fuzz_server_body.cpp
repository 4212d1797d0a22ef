// The server's request bodies (src/serve/api.cpp, json_io.cpp): the bytes as
// a POST /v1/classify body and as a POST /gliclass body, checked against the
// default limits and the bundled model's classifier (loaded once). Refusals
// are the library's errors or an HttpError (413 over a limit, 404 unknown
// adapter), as the routes expect.
#include "fuzz_util.h"
#include "serve/api.h"
#include "serve/http_error.h"

namespace {

const gliclass::Classifier& classifier() {
  static const gliclass::Classifier c =
      gliclass::Classifier::load(std::string(GLICLASS_SOURCE_DIR) + "/models/gliclass-debtags-tiny");
  return c;
}

template <class F>
void expect_refusals(F&& f) {
  gliclass::fuzz::expect_library_errors([&] {
    try {
      f();
    } catch (const gliclass::serve::HttpError& e) {
      if (e.status() != 413 && e.status() != 404) gliclass::fuzz::unexpected("HttpError", e.what());
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(gliclass::fuzz::as_view(data, size));
  const gliclass::serve::Limits limits;
  expect_refusals([&] {
    auto call = gliclass::serve::parse_classify_body(body, limits, classifier());
    if (call.requests.empty()) std::abort();
  });
  expect_refusals([&] {
    auto call = gliclass::serve::parse_gliclass_body(body, limits, classifier());
    if (call.requests.size() != 1) std::abort();
  });
  return 0;
}
