// `gliclass serve`: flags -> serve::Server; runs until SIGTERM or SIGINT, then
// stops accepting connections and finishes the requests in flight.
#include "serve_command.h"

#include <signal.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include "classifier_flags.h"
#include "default_model.h"
#include "gliclass/gliclass.h"
#include "serve/auth.h"
#include "serve/request_log.h"
#include "serve/server.h"

namespace gliclass::cli {
namespace {

// Lock-free, so a signal handler may store to it.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

void on_stop_signal(int sig) { g_signal = sig; }

struct ServeArgs {
  std::string model;
  std::string api_key_file;
  EngineFlags engine;
  ChunkingFlags chunking;
  bool quiet = false;
  serve::ServerOptions server;
};

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void log_event(serve::ojson line) {
  serve::ojson out{{"time", serve::utc_timestamp()}};
  out.update(line);
  std::cerr << out.dump(-1, ' ', false, serve::ojson::error_handler_t::replace) << std::endl;
}

int run_serve(ServeArgs a) {
  if (a.model.empty()) a.model = default_model_dir();
  if (!a.api_key_file.empty()) a.server.api_key = serve::read_api_key_file(a.api_key_file);
  if (!is_loopback(a.server.host) && a.server.api_key.empty())
    log_event({{"event", "warning"},
               {"message", "listening on a non-loopback address without --api-key-file: anyone who can "
                           "reach " + a.server.host + " can use this server"}});
  serve::check_options(a.server);

  a.chunking.apply_to(a.server.classify);
  ClassifierOptions copts = a.engine.options();
  // One server batch is one library call: let it be one forward pass too.
  copts.batch_size = static_cast<int64_t>(a.server.max_batch_size);
  copts.max_labels = a.server.limits.max_labels;
  copts.max_text_bytes = a.server.limits.max_text_bytes;
  Classifier clf = Classifier::load(a.model, copts);

  // A directory's name, or the Hub id as given.
  a.server.model_name = std::filesystem::is_directory(a.model) ? std::filesystem::path(a.model).filename().string() : a.model;
  if (a.server.model_name.empty()) a.server.model_name = std::filesystem::path(a.model).parent_path().filename().string();
  if (!a.quiet) a.server.log = &std::cerr;
  serve::Server server(clf, a.server);
  const int port = server.bind();

  // Signals only set a flag; this thread turns it into stop().
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    while (!finished && g_signal == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (g_signal != 0) {
      log_event({{"event", "stopping"}, {"signal", g_signal == SIGINT ? "SIGINT" : "SIGTERM"}});
      server.stop();
    }
  });

  log_event({{"event", "listening"},
             {"url", "http://" + a.server.host + ":" + std::to_string(port)},
             {"host", a.server.host},
             {"port", port},
             {"model", a.server.model_name},
             {"architecture", clf.architecture()},
             {"backbone", clf.backbone()},
             {"auth", !a.server.api_key.empty()}});
  server.run();
  finished = true;
  watcher.join();
  log_event({{"event", "stopped"}});
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ServeArgs>();
  auto& o = args->server;
  auto* cmd = app.add_subcommand("serve", "Serve a model over HTTP (POST /v1/classify, POST /gliclass)");
  cmd->add_option("--model,-m", args->model, "Model directory (Hugging Face layout); default: the bundled model");
  cmd->add_option("--host", o.host, "Address to listen on (loopback unless told otherwise)")->capture_default_str();
  cmd->add_option("--port,-p", o.port, "Port (0 = any free port)")->check(CLI::Range(0, 65535))->capture_default_str();
  cmd->add_option("--max-batch-size", o.max_batch_size, "Texts per model call, across requests")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch-wait-ms", o.batch_wait_ms, "How long a text may wait for others to batch with")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--max-queue", o.max_queue, "Texts waiting at most; more gets 503")->capture_default_str();
  cmd->add_option("--request-timeout-ms", o.request_timeout_ms, "Queue wait + inference per request; past it 503")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--max-body-bytes", o.limits.max_body_bytes, "Largest request body; larger gets 413")
      ->capture_default_str();
  cmd->add_option("--max-texts", o.limits.max_texts, "Most texts in one request")->capture_default_str();
  cmd->add_option("--max-labels", o.limits.max_labels, "Most labels for one text")->capture_default_str();
  cmd->add_option("--max-text-bytes", o.limits.max_text_bytes, "Longest text, prompt or example block, in bytes")
      ->capture_default_str();
  cmd->add_option("--api-key-file", args->api_key_file, "File holding the API key clients send as 'Bearer <key>'");
  cmd->add_option("--http-threads", o.http_threads, "Connections served at once")
      ->check(CLI::PositiveNumber)->capture_default_str();
  args->engine.add_to(*cmd, /*named_adapters=*/true);
  args->chunking.add_to(*cmd);
  cmd->add_flag("--quiet,-q", args->quiet, "No per-request log lines on stderr");
  cmd->callback([args, &exit_code]() { exit_code = run_serve(*args); });
}

}  // namespace gliclass::cli
