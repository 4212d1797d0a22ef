// Request ids and the request log: one JSON object per line, written whole.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>

#include "serve/json_io.h"

namespace gliclass::serve {

class RequestLog {
 public:
  explicit RequestLog(std::ostream* out);  // nullptr: ids only, no log
  // A fresh id: a per-process random prefix and a counter, 16 hex digits.
  std::string new_id();
  // An id the client sent (X-Request-Id) is kept when short and plain.
  static bool acceptable_id(const std::string& id);
  void write(ojson line);

 private:
  std::ostream* out_;
  std::mutex mu_;
  uint32_t prefix_;
  std::atomic<uint32_t> counter_{0};
};

// UTC time as 2024-01-31T12:34:56.789Z.
std::string utc_timestamp();

}  // namespace gliclass::serve
