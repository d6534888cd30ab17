#include "drain/drain_task.h"

namespace gridgate::drain {

DrainTask::DrainTask(filter::BackpressureFilter* filter, const DrainTaskOptions& options,
                     const filter::FilterOptions& filter_options)
    : filter_(filter),
      options_(options),
      sync_on_interval_(filter_options.spill.has_value() &&
                        filter_options.spill->fsync == spill::FsyncPolicy::kInterval),
      sync_interval_(filter_options.spill.has_value() ? filter_options.spill->fsync_interval_ms
                                                      : 0) {}

DrainTask::~DrainTask() { Stop(); }

void DrainTask::Start() {
  stop_.store(false);
  thread_ = std::thread([this] { Run(); });
}

void DrainTask::Stop() {
  if (!thread_.joinable()) {
    return;
  }
  stop_.store(true);
  filter_->WakeDrainWorker();
  thread_.join();
  filter_->SyncSpill();
}

void DrainTask::Run() {
  auto last_sync = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    filter_->PrefetchSpill();
    const size_t moved = filter_->DrainOnce(options_.step_bytes);
    drained_.fetch_add(moved, std::memory_order_relaxed);
    const auto now = std::chrono::steady_clock::now();
    if (sync_on_interval_ && now - last_sync >= sync_interval_) {
      filter_->SyncSpill();
      last_sync = now;
    }
    if (moved == 0) {
      filter_->Maintain();
      filter_->WaitForDrainWork(options_.idle_wait);
    }
  }
}

}  // namespace gridgate::drain
