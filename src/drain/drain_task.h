#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>

#include "filter/backpressure_filter.h"

namespace gridgate::drain {

struct DrainTaskOptions {
  // Bytes moved from disk to memory per step; small enough that a step never
  // holds the filter's lock for long, large enough to amortize the lock.
  size_t step_bytes = size_t{1} << 20;
  // How long the worker sleeps when there is nothing to drain, at most.
  std::chrono::milliseconds idle_wait{50};
};

// The drain worker: one thread that, while the filter has events on disk and
// memory is under the low watermark, moves them back into memory (highest
// level first, in steps), and that also runs the filter's periodic chores:
// the "interval" fsync policy and the release of idle slabs.
//
// Thread-safe to Start and Stop from one owning thread. `filter` must outlive
// the task; Stop() (or the destructor) joins the thread.
class DrainTask {
 public:
  DrainTask(filter::BackpressureFilter* filter, const DrainTaskOptions& options,
            const filter::FilterOptions& filter_options);
  ~DrainTask();
  DrainTask(const DrainTask&) = delete;
  DrainTask& operator=(const DrainTask&) = delete;

  void Start();
  // Stops and joins the worker; a last SyncSpill runs before it returns.
  void Stop();

  // Events moved from disk to memory by this task.
  uint64_t drained() const { return drained_.load(std::memory_order_relaxed); }

 private:
  void Run();

  filter::BackpressureFilter* const filter_;
  const DrainTaskOptions options_;
  const bool sync_on_interval_;
  const std::chrono::milliseconds sync_interval_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> drained_{0};
  std::thread thread_;
};

}  // namespace gridgate::drain
