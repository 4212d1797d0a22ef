#include "serve/batcher.h"

#include <atomic>
#include <future>

#include "runtime/allocator.h"
#include "serve/http_error.h"

namespace gliclass::serve {

// One HTTP request's texts. Only the worker thread writes results/remaining.
struct Batcher::Job {
  std::vector<ClassifyRequest> requests;
  std::vector<ClassifyResult> results;
  size_t remaining = 0;
  std::exception_ptr error;
  std::promise<void> done;
  std::atomic<bool> abandoned{false};  // the waiter gave up (timeout)
};

Batcher::Batcher(Classifier classifier, BatcherOptions options, BatchObserver observer)
    : classifier_(std::move(classifier)), options_(options), observer_(std::move(observer)) {
  if (options_.max_batch_size < 1) options_.max_batch_size = 1;
  worker_ = std::thread([this] { worker_loop(); });
}

Batcher::~Batcher() { shutdown(); }

std::vector<ClassifyResult> Batcher::classify(std::vector<ClassifyRequest> requests, Clock::time_point deadline) {
  if (requests.empty()) return {};
  auto job = std::make_shared<Job>();
  job->requests = std::move(requests);
  job->results.resize(job->requests.size());
  job->remaining = job->requests.size();
  std::future<void> done = job->done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw HttpError(503, "the server is shutting down");
    const size_t n = job->requests.size();
    if (queue_.size() + n > options_.max_queue)
      throw HttpError(503, "the queue is full (" + std::to_string(queue_.size()) + " texts waiting, limit " +
                               std::to_string(options_.max_queue) + "); retry later");
    const auto now = Clock::now();
    for (size_t i = 0; i < n; ++i) queue_.push_back(Item{job, i, now});
  }
  cv_.notify_one();

  if (done.wait_until(deadline) != std::future_status::ready) {
    job->abandoned = true;
    throw HttpError(503, "the request timed out before its texts were classified");
  }
  done.get();  // rethrows a library error
  return std::move(job->results);
}

size_t Batcher::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

size_t Batcher::largest_batch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return largest_batch_;
}

void Batcher::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Batcher::worker_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping, nothing left
    // Wait for company until the batch is full or the oldest text has waited long enough.
    const auto flush_at = queue_.front().enqueued + options_.batch_wait;
    cv_.wait_until(lock, flush_at, [&] { return queue_.size() >= options_.max_batch_size || stopping_; });
    std::vector<Item> batch;
    while (!queue_.empty() && batch.size() < options_.max_batch_size) {
      Item item = std::move(queue_.front());
      queue_.pop_front();
      if (!item.job->abandoned) batch.push_back(std::move(item));
    }
    if (batch.empty()) continue;
    largest_batch_ = std::max(largest_batch_, batch.size());
    lock.unlock();
    run_batch(batch);
    lock.lock();
    // Idle: hand the batch's freed activations back (a busy server keeps
    // them for the next batch rather than fault them in again).
    if (queue_.empty()) {
      lock.unlock();
      runtime::release_freed_memory();
      lock.lock();
    }
  }
}

void Batcher::run_batch(std::vector<Item>& batch) {
  const auto start = Clock::now();
  std::vector<ClassifyRequest> requests;
  requests.reserve(batch.size());
  for (const auto& item : batch) requests.push_back(item.job->requests[item.index]);

  auto finish = [](Item& item, ClassifyResult* result, std::exception_ptr error) {
    Job& job = *item.job;
    if (result) job.results[item.index] = std::move(*result);
    if (error && !job.error) job.error = error;
    if (--job.remaining == 0) {
      if (job.error)
        job.done.set_exception(job.error);
      else
        job.done.set_value();
    }
  };

  // Per-text type and threshold travel in each request; the options are
  // defaults. Results are handed out after the observer has counted the
  // batch, so a client that got its answer sees it in the metrics.
  std::vector<ClassifyResult> results;
  std::vector<std::exception_ptr> errors(batch.size());
  try {
    results = classifier_.classify(requests, options_.classify);
  } catch (...) {
    // Texts were validated before queueing, so this is rare; run them one by
    // one so that one bad text fails only its own request.
    results.assign(batch.size(), ClassifyResult{});
    for (size_t i = 0; i < batch.size(); ++i) {
      try {
        results[i] = classifier_.classify(requests[i], options_.classify);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  }
  if (observer_) observer_(batch.size(), std::chrono::duration<double>(Clock::now() - start).count());
  for (size_t i = 0; i < batch.size(); ++i) finish(batch[i], errors[i] ? nullptr : &results[i], errors[i]);
}

}  // namespace gliclass::serve
