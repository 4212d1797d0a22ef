// Settings of `gliclass serve`, with their defaults (each is a flag).
#pragma once
#include <cstddef>
#include <iosfwd>
#include <string>

#include "gliclass/classifier.h"

namespace gliclass::serve {

// Per-request limits; a request over one gets 413.
struct Limits {
  size_t max_body_bytes = 1 << 20;  // request body, after any Content-Encoding
  size_t max_texts = 128;           // texts in one request
  size_t max_labels = 256;          // labels of one text
  size_t max_text_bytes = 100000;   // one text, prompt or example text
};

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 8080;                  // 0 picks a free port
  Limits limits;
  // Micro-batching: texts from concurrent requests share model calls.
  size_t max_batch_size = 32;     // texts per model call
  int batch_wait_ms = 5;          // how long the oldest queued text may wait for company
  size_t max_queue = 1024;        // texts waiting; a request that does not fit gets 503
  int request_timeout_ms = 30000; // queue wait + inference; past it, 503
  int http_threads = 64;          // connections served at once
  std::string api_key;            // non-empty: every endpoint but /health needs "Bearer <key>"
  ClassifyOptions classify;       // long-text windows and label groups for every request
  std::string model_name;         // shown by GET /v1/model
  std::ostream* log = nullptr;    // one JSON line per request; nullptr = no log
};

// InputError naming the first option out of range.
void check_options(const ServerOptions& options);

}  // namespace gliclass::serve
