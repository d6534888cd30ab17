#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "common/clock.h"
#include "common/latency_histogram.h"
#include "common/mutex.h"
#include "filter/backpressure_filter.h"
#include "sink/sink.h"

namespace gridgate::dispatch {

struct DispatcherOptions {
  // One batch in flight at a time: a critical event waits behind at most this
  // much delivery work.
  filter::PopLimits batch{.max_events = 512, .max_bytes = size_t{256} << 10};
  // How long a Pop waits for events before the loop checks for a stop.
  std::chrono::milliseconds pop_timeout{100};
  // After a failed delivery the batch goes back to the filter and the next
  // attempt waits: initial, doubling up to max.
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{10'000};

  Status Validate() const;
};

// Delivery counters and latencies (ingest to ack), per priority.
struct DispatcherStats {
  uint64_t batches_delivered = 0;
  uint64_t batches_failed = 0;  // returned to the filter for a retry
  uint64_t events_delivered = 0;
  uint64_t consecutive_failures = 0;
  std::array<int64_t, kNumPriorities> latency_p50_ns{};
  std::array<int64_t, kNumPriorities> latency_p99_ns{};
  std::array<uint64_t, kNumPriorities> latency_samples{};
};

// The dispatcher: one thread that pops the most urgent events from the
// filter in bounded batches, hands each batch to the sink, acks it on
// success, and on failure returns it to the head of its levels and retries
// with capped exponential back-off. Nothing it pops is lost: a batch is
// always acked or returned, also when it stops.
//
// Start and Stop belong to one owning thread; Stats is thread-safe. `filter`
// and `sink` must outlive the dispatcher; Stop() (or the destructor) joins.
class Dispatcher {
 public:
  Dispatcher(filter::BackpressureFilter* filter, sink::Sink* sink,
             const DispatcherOptions& options, Clock* clock = SystemClock());
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void Start();
  // Stops after the batch in flight (acked or returned) and joins. Events
  // still queued stay in the filter.
  void Stop();

  DispatcherStats Stats() const;

 private:
  void Run();
  // Waits `delay` unless Stop() comes first; false when stopping.
  bool SleepUnlessStopped(std::chrono::milliseconds delay);
  void RecordDelivered(const filter::PopBatch& batch);

  filter::BackpressureFilter* const filter_;
  sink::Sink* const sink_;
  const DispatcherOptions options_;
  Clock* const clock_;
  std::thread thread_;

  mutable Mutex mu_;
  CondVar stop_cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  DispatcherStats stats_ GUARDED_BY(mu_);
  std::array<LatencyHistogram, kNumPriorities> latency_ GUARDED_BY(mu_);
};

}  // namespace gridgate::dispatch
