// Dynamic micro-batching: texts of concurrent HTTP requests wait in one
// bounded queue; a worker thread takes up to max_batch_size of them (waiting
// at most batch_wait for company after the oldest arrived), classifies them
// in one library call and hands each request its results. Results do not
// depend on batch company (decisions.md "Batch invariance").
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gliclass/classifier.h"

namespace gliclass::serve {

using Clock = std::chrono::steady_clock;

struct BatcherOptions {
  size_t max_batch_size = 32;
  std::chrono::milliseconds batch_wait{5};
  size_t max_queue = 1024;  // texts waiting, all requests together
  ClassifyOptions classify;  // every model call's options (windows, label groups)
};

class Batcher {
 public:
  // Called after each model call with its size (texts) and duration.
  using BatchObserver = std::function<void(size_t texts, double seconds)>;

  Batcher(Classifier classifier, BatcherOptions options, BatchObserver observer = nullptr);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues one request's texts and waits for their results, in order.
  // HttpError 503 when they do not fit in the queue, when stopping, or when
  // `deadline` passes first (the texts are then dropped if not yet started).
  // A library error is rethrown as it came.
  std::vector<ClassifyResult> classify(std::vector<ClassifyRequest> requests, Clock::time_point deadline);

  size_t queue_depth() const;
  size_t largest_batch() const;  // most texts seen in one model call

  // Refuses new work, finishes the queued texts, joins the worker. Idempotent.
  void shutdown();

 private:
  struct Job;
  struct Item {
    std::shared_ptr<Job> job;
    size_t index = 0;  // position in the job's request list
    Clock::time_point enqueued;
  };

  void worker_loop();
  void run_batch(std::vector<Item>& batch);

  Classifier classifier_;
  BatcherOptions options_;
  BatchObserver observer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  size_t largest_batch_ = 0;
  std::thread worker_;
};

}  // namespace gliclass::serve
