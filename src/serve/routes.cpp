#include "serve/routes.h"

#include <algorithm>
#include <cmath>

#include "gliclass/version.h"
#include "serve/api.h"
#include "serve/auth.h"
#include "serve/http_error.h"

namespace gliclass::serve {
namespace {

// One HTTP exchange, seen by the hooks and the handler on the same worker
// thread (httplib serves a request start to end on one thread).
struct Exchange {
  bool active = false;
  bool timed = false;
  std::string id;
  Clock::time_point start;
  size_t texts = 0;
  std::string error;
  double seconds = 0;  // until the response was ready
};
thread_local Exchange t_exchange;

Exchange& begin_exchange(RequestLog& log, const httplib::Request& req, bool timed) {
  Exchange& x = t_exchange;
  x = Exchange{};
  x.active = true;
  x.timed = timed;
  x.start = Clock::now();
  const std::string given = req.get_header_value("X-Request-Id");
  x.id = RequestLog::acceptable_id(given) ? given : log.new_id();
  return x;
}

std::string endpoint_of(const std::string& path) {
  static const char* const kKnown[] = {"/v1/classify", "/gliclass", "/gliclass/adapter-cache", "/health",
                                       "/-/healthz", "/gliclass/-/healthz", "/v1/model", "/metrics"};
  for (const char* known : kKnown)
    if (path == known) return known;
  return "other";
}

void reply_json(httplib::Response& res, int status, const ojson& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, ojson::error_handler_t::replace), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  t_exchange.error = message;
  reply_json(res, status, ojson{{"error", message}});
  if (status == 401) res.set_header("WWW-Authenticate", "Bearer");
  if (status == 503) res.set_header("Retry-After", "1");
}

std::string default_message(int status, const httplib::Request& req, const ServerOptions& options) {
  switch (status) {
    case 400: return "malformed HTTP request";
    case 404: return "no such endpoint: " + req.method + " " + req.path.substr(0, 200);
    case 413:
      return "the request body is larger than the limit of " + std::to_string(options.limits.max_body_bytes) +
             " bytes";
    case 414: return "the request line is too long";
    case 415: return "unsupported Content-Encoding";
    default: return "HTTP error " + std::to_string(status);
  }
}

// Reads the body through the content reader, at most `limit` bytes kept. A
// larger body is drained (up to 8x the limit, to keep the connection usable)
// and refused with 413.
std::string read_body(const httplib::ContentReader& reader, httplib::Response& res, size_t limit) {
  std::string body;
  size_t seen = 0;
  const bool ok = reader([&](const char* data, size_t n) {
    seen += n;
    if (seen <= limit) body.append(data, n);
    return seen <= 8 * limit;
  });
  if (seen > limit || res.status == 413) {
    if (seen > 8 * limit) res.set_header("Connection", "close");
    throw HttpError(413, "the request body is larger than the limit of " + std::to_string(limit) + " bytes");
  }
  if (!ok) {
    res.set_header("Connection", "close");
    throw HttpError(400, "could not read the request body");
  }
  return body;
}

void check_auth(const ServerState& s, const httplib::Request& req) {
  if (s.options.api_key.empty()) return;
  if (!req.has_header("Authorization"))
    throw HttpError(401, "missing API key (send the header 'Authorization: Bearer <key>')");
  if (!bearer_matches(req.get_header_value("Authorization"), s.options.api_key))
    throw HttpError(401, "invalid API key");
}

// Runs a handler body; every error becomes {"error": ...} with its status.
template <typename F>
void guarded(httplib::Response& res, F&& body) {
  try {
    body();
  } catch (const HttpError& e) {
    reply_error(res, e.status(), e.what());
  } catch (const FormatError& e) {
    reply_error(res, 400, e.what());
  } catch (const InputError& e) {
    reply_error(res, 422, e.what());
  } catch (const ojson::exception& e) {
    reply_error(res, 400, std::string("bad request JSON: ") + e.what());
  } catch (const std::exception& e) {
    reply_error(res, 500, std::string("internal error: ") + e.what());
  }
}

struct InFlight {
  explicit InFlight(std::atomic<size_t>& n) : n_(n) { ++n_; }
  ~InFlight() { --n_; }
  std::atomic<size_t>& n_;
};

// POST handlers of the two classification endpoints.
template <typename Parse, typename Format>
httplib::Server::HandlerWithContentReader classify_handler(ServerState& s, Parse parse, Format format) {
  return [&s, parse, format](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) {
    guarded(res, [&] {
      const auto deadline = t_exchange.start + std::chrono::milliseconds(s.options.request_timeout_ms);
      // The body is read (bounded) before an auth failure is answered, so
      // the connection stays in step for the next request.
      std::optional<HttpError> auth_error;
      try {
        check_auth(s, req);
      } catch (const HttpError& e) {
        auth_error = e;
      }
      const std::string body = read_body(reader, res, s.options.limits.max_body_bytes);
      if (auth_error) throw *auth_error;
      ParsedCall call = parse(body, s.options.limits, s.classifier);
      t_exchange.texts = call.requests.size();
      InFlight guard(s.in_flight);
      std::vector<ClassifyResult> results = s.batcher.classify(std::move(call.requests), deadline);
      reply_json(res, 200, format(results, call.fields));
    });
  };
}

ojson model_info(const ServerState& s) {
  const auto& o = s.options;
  return ojson{{"model", o.model_name},
               {"architecture", s.classifier.architecture()},
               {"backbone", s.classifier.backbone()},
               {"version", kVersion},
               {"max_length", s.classifier.options().max_length},
               {"adapters", s.classifier.adapter_ids()},
               {"limits",
                {{"max_body_bytes", o.limits.max_body_bytes},
                 {"max_texts", o.limits.max_texts},
                 {"max_labels", o.limits.max_labels},
                 {"max_text_bytes", o.limits.max_text_bytes}}},
               {"batching",
                {{"max_batch_size", o.max_batch_size},
                 {"batch_wait_ms", o.batch_wait_ms},
                 {"max_queue", o.max_queue},
                 {"request_timeout_ms", o.request_timeout_ms}}},
               {"auth", !o.api_key.empty()}};
}

}  // namespace

void install_routes(httplib::Server& http, ServerState& s) {
  using httplib::Request;
  using httplib::Response;

  http.set_pre_routing_handler([&s](const Request& req, Response& res) {
    Exchange& x = begin_exchange(s.log, req, true);
    res.set_header("X-Request-Id", x.id);
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Errors httplib answers by itself (404, 413, malformed requests) get a JSON body too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([&s](const Request& req, Response& res) {
    if (!t_exchange.active) begin_exchange(s.log, req, false);
    if (!res.has_header("X-Request-Id")) res.set_header("X-Request-Id", t_exchange.id);
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    reply_error(res, res.status, default_message(res.status, req, s.options));
    return httplib::Server::HandlerResponse::Handled;  // lets httplib set Content-Length
  }));

  http.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
    reply_error(res, 500, "internal error");
  });

  // Counted just before the response is sent, so a client that has its
  // answer sees it in /metrics.
  http.set_post_routing_handler([&s](const Request& req, Response& res) {
    Exchange& x = t_exchange;
    x.seconds = x.active && x.timed ? std::chrono::duration<double>(Clock::now() - x.start).count() : 0;
    s.metrics.record_request(endpoint_of(req.path), res.status, x.seconds);
  });

  http.set_logger([&s](const Request& req, const Response& res) {
    Exchange& x = t_exchange;
    const double secs = x.seconds;
    ojson line{{"time", utc_timestamp()},
               {"id", x.active ? x.id : s.log.new_id()},
               {"remote", req.remote_addr},
               {"method", req.method},
               {"path", req.path.substr(0, 256)},
               {"status", res.status}};
    if (x.active && x.timed) line["ms"] = std::round(secs * 1e5) / 100;
    if (x.texts) line["texts"] = x.texts;
    if (x.active && !x.error.empty()) line["error"] = x.error;
    s.log.write(std::move(line));
    x.active = false;
  });

  http.Post("/v1/classify", classify_handler(s, parse_classify_body, classify_response));
  http.Post("/gliclass", classify_handler(s, parse_gliclass_body,
                                          [](const std::vector<ClassifyResult>& r, const ResultFields&) {
                                            return gliclass_response(r.at(0));
                                          }));

  auto health = [](const Request&, Response& res) { reply_json(res, 200, ojson{{"status", "ok"}}); };
  http.Get("/health", health);
  http.Get("/-/healthz", health);
  http.Get("/gliclass/-/healthz", health);

  http.Get("/v1/model", [&s](const Request& req, Response& res) {
    guarded(res, [&] {
      check_auth(s, req);
      reply_json(res, 200, model_info(s));
    });
  });

  http.Get("/metrics", [&s](const Request& req, Response& res) {
    guarded(res, [&] {
      check_auth(s, req);
      Gauges g;
      g.queue_depth = s.batcher.queue_depth();
      g.in_flight = s.in_flight.load();
      res.set_content(s.metrics.render(g), "text/plain; version=0.0.4; charset=utf-8");
    });
  });

  // The reference's adapter status: every adapter is loaded at start and
  // stays in memory; ?adapter_id= asks about one (404 when unknown).
  http.Get("/gliclass/adapter-cache", [&s](const Request& req, Response& res) {
    guarded(res, [&] {
      check_auth(s, req);
      const auto ids = s.classifier.adapter_ids();
      ojson body{{"enabled", !ids.empty()}, {"base_adapter_id", kBaseAdapterId}, {"adapters", ids}};
      if (req.has_param("adapter_id")) {
        const std::string id = req.get_param_value("adapter_id");
        const bool known = id == kBaseAdapterId || std::find(ids.begin(), ids.end(), id) != ids.end();
        if (!known) throw HttpError(404, "unknown LoRA adapter id: " + id);
        body["adapter_id"] = id;
        body["loaded"] = true;
      }
      reply_json(res, 200, body);
    });
  });

  // The right path with the wrong method: 405 naming the allowed one.
  auto wrong_method = [](const char* allowed) {
    return [allowed](const Request& req, Response& res) {
      res.set_header("Allow", allowed);
      reply_error(res, 405, req.method + " is not allowed on " + req.path + " (use " + allowed + ")");
    };
  };
  for (const char* path : {"/v1/classify", "/gliclass"}) http.Get(path, wrong_method("POST"));
  for (const char* path : {"/health", "/v1/model", "/metrics", "/gliclass/adapter-cache"})
    http.Post(path, wrong_method("GET"));
}

}  // namespace gliclass::serve
