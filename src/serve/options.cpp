#include "serve/options.h"

#include "gliclass/error.h"

namespace gliclass::serve {
namespace {

void require(bool ok, const std::string& what, long long got) {
  if (!ok) throw InputError("serve: " + what + " (got " + std::to_string(got) + ")");
}

}  // namespace

void check_options(const ServerOptions& o) {
  require(o.port >= 0 && o.port <= 65535, "port must be in [0, 65535]", o.port);
  require(o.limits.max_body_bytes >= 64, "max body bytes must be at least 64",
          static_cast<long long>(o.limits.max_body_bytes));
  require(o.limits.max_texts >= 1, "max texts must be at least 1", static_cast<long long>(o.limits.max_texts));
  require(o.limits.max_labels >= 1, "max labels must be at least 1", static_cast<long long>(o.limits.max_labels));
  require(o.limits.max_text_bytes >= 1, "max text bytes must be at least 1",
          static_cast<long long>(o.limits.max_text_bytes));
  require(o.max_batch_size >= 1, "max batch size must be at least 1", static_cast<long long>(o.max_batch_size));
  require(o.batch_wait_ms >= 0, "batch wait must not be negative", o.batch_wait_ms);
  // A request of max_texts texts must be able to enter an empty queue.
  require(o.max_queue >= o.limits.max_texts, "max queue must be at least max texts per request",
          static_cast<long long>(o.max_queue));
  require(o.request_timeout_ms >= 1, "request timeout must be at least 1 ms", o.request_timeout_ms);
  require(o.http_threads >= 1, "http threads must be at least 1", o.http_threads);
}

}  // namespace gliclass::serve
