// `gliclass serve`: an HTTP server over one Classifier.
//
//   serve::Server server(gliclass::Classifier::load(dir), options);
//   int port = server.bind();      // options.port, or a free one for 0
//   std::thread t([&] { server.run(); });
//   ...
//   server.stop();                  // in-flight requests still finish
//   t.join();
#pragma once
#include <memory>

#include "gliclass/classifier.h"
#include "serve/options.h"

namespace gliclass::serve {

class Server {
 public:
  // InputError when an option is out of range (check_options).
  Server(Classifier classifier, ServerOptions options);
  ~Server();  // stops and waits like stop() + the end of run()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds options.host:options.port and returns the port. gliclass::Error
  // when the address cannot be bound.
  int bind();
  // Serves until stop(), then waits for in-flight requests and the batcher
  // to finish. bind() must have succeeded.
  void run();
  // Stops accepting connections; run() returns once in-flight work is done.
  // Safe from any thread (not from a signal handler), before or during run().
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gliclass::serve
