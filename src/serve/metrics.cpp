#include "serve/metrics.h"

#include <cmath>
#include <sstream>

namespace gliclass::serve {
namespace {

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : start_(Clock::now()),
      latency_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      batch_size_({1, 2, 4, 8, 16, 32, 64, 128, 256}),
      batch_seconds_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}) {}

void Metrics::record_request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{endpoint, status}];
  if (endpoint == "/v1/classify" || endpoint == "/gliclass") latency_.observe(seconds);
}

void Metrics::record_batch(size_t texts, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  batch_size_.observe(static_cast<double>(texts));
  batch_seconds_.observe(seconds);
  texts_ += texts;
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start_).count();
  auto& slot = per_second_[static_cast<size_t>(now_s) % per_second_.size()];
  if (slot.first != now_s) slot = {now_s, 0};
  slot.second += texts;
}

// Texts finished in the last kRateWindow whole seconds, per second.
double Metrics::texts_per_second(int64_t now_s) const {
  const int64_t window = std::min<int64_t>(kRateWindow, now_s);
  if (window <= 0) return 0;
  uint64_t total = 0;
  for (const auto& [second, count] : per_second_)
    if (second >= now_s - window && second < now_s) total += count;
  return static_cast<double>(total) / static_cast<double>(window);
}

std::string Metrics::render(const Gauges& gauges) const {
  std::lock_guard<std::mutex> lock(mu_);
  const double uptime = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string out;
  header(out, "gliclass_requests_total", "counter", "HTTP responses by endpoint and status code.");
  for (const auto& [key, count] : requests_)
    out += "gliclass_requests_total{endpoint=\"" + key.first + "\",code=\"" + std::to_string(key.second) + "\"} " +
           std::to_string(count) + "\n";
  header(out, "gliclass_request_duration_seconds", "histogram",
         "Latency of classification requests (POST /v1/classify and /gliclass), queueing included.");
  latency_.write(out, "gliclass_request_duration_seconds");
  header(out, "gliclass_batch_size", "histogram", "Texts per model call after micro-batching.");
  batch_size_.write(out, "gliclass_batch_size");
  header(out, "gliclass_batch_duration_seconds", "histogram", "Duration of one model call.");
  batch_seconds_.write(out, "gliclass_batch_duration_seconds");
  header(out, "gliclass_queue_depth", "gauge", "Texts waiting for a model call.");
  out += "gliclass_queue_depth " + std::to_string(gauges.queue_depth) + "\n";
  header(out, "gliclass_in_flight_requests", "gauge", "Classification requests being served.");
  out += "gliclass_in_flight_requests " + std::to_string(gauges.in_flight) + "\n";
  header(out, "gliclass_texts_total", "counter", "Texts classified.");
  out += "gliclass_texts_total " + std::to_string(texts_) + "\n";
  header(out, "gliclass_texts_per_second", "gauge", "Texts classified per second over the last 10 s.");
  out += "gliclass_texts_per_second " +
         number(texts_per_second(static_cast<int64_t>(uptime))) + "\n";
  header(out, "gliclass_uptime_seconds", "gauge", "Seconds since the server started.");
  out += "gliclass_uptime_seconds " + number(uptime) + "\n";
  return out;
}

}  // namespace gliclass::serve
