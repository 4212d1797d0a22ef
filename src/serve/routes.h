// The HTTP surface of `gliclass serve`: endpoints, auth, limits, errors as
// JSON, the request log and metrics. Handlers are thin: parse -> batcher ->
// format (src/serve/api.h does the parsing and formatting).
#pragma once
#include <atomic>

#include "gliclass/classifier.h"
#include "serve/batcher.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/options.h"
#include "serve/request_log.h"

namespace gliclass::serve {

// What the handlers share; owned by the Server, outlives the httplib server.
struct ServerState {
  const Classifier& classifier;
  const ServerOptions& options;
  Batcher& batcher;
  Metrics& metrics;
  RequestLog& log;
  std::atomic<size_t> in_flight{0};
};

// Registers every endpoint and hook on `http`:
//   POST /v1/classify, POST /gliclass, GET /gliclass/adapter-cache,
//   GET /health (also /-/healthz, /gliclass/-/healthz; no auth), GET /v1/model,
//   GET /metrics.
void install_routes(httplib::Server& http, ServerState& state);

}  // namespace gliclass::serve
