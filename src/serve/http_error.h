// An error with the HTTP status it maps to. Handlers throw it; the routes
// turn it into {"error": message} with that status.
#pragma once
#include <stdexcept>
#include <string>

namespace gliclass::serve {

class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

}  // namespace gliclass::serve
