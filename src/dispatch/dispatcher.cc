#include "dispatch/dispatcher.h"

#include <algorithm>

namespace gridgate::dispatch {

Status DispatcherOptions::Validate() const {
  if (batch.max_events == 0 || batch.max_bytes == 0) {
    return Status::InvalidArgument("dispatch batch max_events and max_bytes must be positive");
  }
  if (pop_timeout.count() <= 0) {
    return Status::InvalidArgument("dispatch pop_timeout must be positive");
  }
  if (backoff_initial.count() <= 0 || backoff_max < backoff_initial) {
    return Status::InvalidArgument(
        "dispatch backoff_initial must be positive and backoff_max at least as long");
  }
  return Status::Ok();
}

Dispatcher::Dispatcher(filter::BackpressureFilter* filter, sink::Sink* sink,
                       const DispatcherOptions& options, Clock* clock)
    : filter_(filter), sink_(sink), options_(options), clock_(clock) {}

Dispatcher::~Dispatcher() { Stop(); }

void Dispatcher::Start() {
  {
    MutexLock lock(&mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void Dispatcher::Stop() {
  if (!thread_.joinable()) {
    return;
  }
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  stop_cv_.NotifyAll();
  thread_.join();
}

bool Dispatcher::SleepUnlessStopped(std::chrono::milliseconds delay) {
  MutexLock lock(&mu_);
  const auto deadline = std::chrono::steady_clock::now() + delay;
  while (!stop_) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) {
      break;
    }
    stop_cv_.WaitFor(&mu_, left);
  }
  return !stop_;
}

void Dispatcher::RecordDelivered(const filter::PopBatch& batch) {
  const int64_t now_ns = clock_->UnixNs();
  MutexLock lock(&mu_);
  ++stats_.batches_delivered;
  stats_.events_delivered += batch.size();
  stats_.consecutive_failures = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Event e = batch.event(i);
    latency_[LevelIndex(e.priority)].Record(now_ns - e.ingest_time_ns);
  }
}

void Dispatcher::Run() {
  filter::PopBatch batch;
  std::chrono::milliseconds backoff = options_.backoff_initial;
  while (true) {
    {
      MutexLock lock(&mu_);
      if (stop_) {
        return;
      }
    }
    const Status popped = filter_->Pop(options_.batch, options_.pop_timeout, &batch);
    if (popped.code() == Status::Code::kUnavailable) {
      return;  // shut down and empty
    }
    if (!popped.ok() || batch.empty()) {
      continue;
    }
    const Status delivered = sink_->Deliver(batch);
    if (delivered.ok()) {
      RecordDelivered(batch);
      // Invariant: the batch was popped by this thread and is in flight.
      (void)filter_->Ack(&batch);
      backoff = options_.backoff_initial;
      continue;
    }
    (void)filter_->Return(&batch);
    {
      MutexLock lock(&mu_);
      ++stats_.batches_failed;
      ++stats_.consecutive_failures;
    }
    if (!SleepUnlessStopped(backoff)) {
      return;
    }
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

DispatcherStats Dispatcher::Stats() const {
  MutexLock lock(&mu_);
  DispatcherStats s = stats_;
  for (Priority p : kAllPriorities) {
    const LatencyHistogram& h = latency_[LevelIndex(p)];
    s.latency_p50_ns[LevelIndex(p)] = h.Quantile(0.5);
    s.latency_p99_ns[LevelIndex(p)] = h.Quantile(0.99);
    s.latency_samples[LevelIndex(p)] = h.count();
  }
  return s;
}

}  // namespace gridgate::dispatch
