#include "serve/request_log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

namespace gliclass::serve {

RequestLog::RequestLog(std::ostream* out) : out_(out), prefix_(std::random_device{}()) {}

std::string RequestLog::new_id() {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", prefix_, counter_.fetch_add(1) + 1);
  return buf;
}

bool RequestLog::acceptable_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

void RequestLog::write(ojson line) {
  if (!out_) return;
  // Invalid UTF-8 from a client (a path, say) must not make dump() throw.
  const std::string text = line.dump(-1, ' ', false, ojson::error_handler_t::replace);
  std::lock_guard<std::mutex> lock(mu_);
  *out_ << text << '\n';
  out_->flush();
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // room for any int fields, so the compiler sees no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace gliclass::serve
