// Counters for GET /metrics, in the Prometheus text exposition format
// (version 0.0.4): requests by endpoint and status, request latency and
// model-batch size histograms, queue depth, texts/s.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace gliclass::serve {

// Cumulative buckets as Prometheus counts them (each le includes the smaller ones).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Lines `<name>_bucket{le=...}`, `<name>_sum`, `<name>_count`.
  void write(std::string& out, const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

struct Gauges {
  size_t queue_depth = 0;
  size_t in_flight = 0;
};

class Metrics {
 public:
  Metrics();
  // Every HTTP response; `endpoint` is a known route or "other".
  void record_request(const std::string& endpoint, int status, double seconds);
  // Every model call.
  void record_batch(size_t texts, double seconds);
  std::string render(const Gauges& gauges) const;

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr int64_t kRateWindow = 10;  // seconds of history for texts/s
  double texts_per_second(int64_t now_s) const;

  mutable std::mutex mu_;
  Clock::time_point start_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  Histogram latency_;
  Histogram batch_size_;
  Histogram batch_seconds_;
  uint64_t texts_ = 0;
  // Texts finished per second of uptime, a ring over the last seconds.
  std::array<std::pair<int64_t, uint64_t>, kRateWindow + 2> per_second_{};
};

}  // namespace gliclass::serve
