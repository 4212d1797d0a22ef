#include "serve/server.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <mutex>
#include <thread>

#include "serve/batcher.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/request_log.h"
#include "serve/routes.h"

namespace gliclass::serve {

struct Server::Impl {
  Impl(Classifier c, ServerOptions o)
      : classifier(std::move(c)),
        options(std::move(o)),
        batcher(classifier,
                BatcherOptions{options.max_batch_size, std::chrono::milliseconds(options.batch_wait_ms),
                               options.max_queue, options.classify},
                [this](size_t texts, double secs) { metrics.record_batch(texts, secs); }),
        log(options.log),
        state{classifier, options, batcher, metrics, log} {}

  Classifier classifier;
  ServerOptions options;
  Metrics metrics;  // before the batcher, which reports to it
  Batcher batcher;
  RequestLog log;
  ServerState state;
  httplib::Server http;

  std::mutex mu;  // guards the four flags below
  bool bound = false;
  bool running = false;  // run() is listening
  bool closed = false;   // the listening socket is closed
  bool stop_requested = false;
  std::atomic<bool> listen_returned{false};
};

namespace {

// Runs the listener just long enough to stop it: the only way httplib closes
// a bound socket.
void close_listener(httplib::Server& http) {
  std::atomic<bool> returned{false};
  std::thread t([&] {
    http.listen_after_bind();
    returned = true;
  });
  while (!http.is_running() && !returned) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  http.stop();
  t.join();
}

// cpp-httplib 0.11 (Debian 12) listens with a backlog of 5: when more
// clients than that connect at once, the kernel drops their handshakes and
// some see their first request fail. This finds the listening socket bound to
// `port` among this process's descriptors and raises its backlog (listen()
// again on a listening socket only updates the backlog).
void raise_listen_backlog(int port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return;
  while (const dirent* entry = ::readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == ::dirfd(dir)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) continue;
    int bound_port = -1;
    if (addr.ss_family == AF_INET) bound_port = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (addr.ss_family == AF_INET6) bound_port = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    if (bound_port == port) ::listen(fd, SOMAXCONN);
  }
  ::closedir(dir);
}

}  // namespace

Server::Server(Classifier classifier, ServerOptions options) {
  check_options(options);
  impl_ = std::make_unique<Impl>(std::move(classifier), std::move(options));
  auto& http = impl_->http;
  const int threads = impl_->options.http_threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http.set_payload_max_length(impl_->options.limits.max_body_bytes);
  http.set_keep_alive_max_count(1000);
  http.set_keep_alive_timeout(2);  // also bounds how long shutdown waits on idle connections
  install_routes(http, impl_->state);
}

Server::~Server() {
  stop();
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->bound && !impl_->running && !impl_->closed) close_listener(impl_->http);
  impl_->batcher.shutdown();
}

int Server::bind() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const auto& o = impl_->options;
  int port = o.port;
  if (o.port == 0)
    port = impl_->http.bind_to_any_port(o.host);
  else if (!impl_->http.bind_to_port(o.host, o.port))
    port = -1;
  if (port <= 0)
    throw Error("serve: cannot listen on " + o.host + ":" + std::to_string(o.port) +
                " (address in use, or not an address of this machine?)");
  raise_listen_backlog(port);
  impl_->bound = true;
  return port;
}

void Server::run() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (!impl_->bound) throw Error("serve: run() before a successful bind()");
    if (impl_->closed) throw Error("serve: run() after the server has stopped");
    if (impl_->stop_requested) {
      close_listener(impl_->http);
      impl_->closed = true;
      impl_->batcher.shutdown();
      return;
    }
    impl_->running = true;
  }
  impl_->http.listen_after_bind();  // returns after stop(), once its connection threads are done
  impl_->listen_returned = true;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->running = false;
    impl_->closed = true;
  }
  impl_->batcher.shutdown();
}

void Server::stop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->stop_requested = true;
  if (!impl_->running) return;
  // listen_after_bind() may not have marked itself running yet.
  while (!impl_->http.is_running() && !impl_->listen_returned)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->http.stop();
}

}  // namespace gliclass::serve
