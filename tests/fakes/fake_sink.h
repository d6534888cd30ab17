#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "fakes/event_factory.h"
#include "sink/sink.h"

namespace gridgate::testing {

// A sink that records what it took and fails or stalls on command.
// Thread-safe: the dispatcher delivers while the test thread commands.
class FakeSink final : public sink::Sink {
 public:
  struct Delivered {
    uint64_t id;  // PayloadId of the event
    Priority priority;
    uint64_t seq;
  };

  Status Deliver(const filter::PopBatch& batch) override {
    std::unique_lock lock(mu_);
    ++attempts_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !stalled_; });
    if (fail_next_ > 0) {
      --fail_next_;
      return Status::Unavailable("fake sink told to fail");
    }
    if (fail_always_) {
      return Status::Unavailable("fake sink is down");
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      const Event e = batch.event(i);
      delivered_.push_back({PayloadId(e.payload), e.priority, e.seq.value});
    }
    batches_.push_back(batch.size());
    cv_.notify_all();
    return Status::Ok();
  }
  std::string_view name() const override { return "fake"; }

  void FailNext(int n) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
  }
  void FailAlways(bool on) {
    std::lock_guard lock(mu_);
    fail_always_ = on;
  }
  void Stall(bool on) {
    std::lock_guard lock(mu_);
    stalled_ = on;
    cv_.notify_all();
  }

  // Waits (at most a generous minute, a hang guard) until `n` events were
  // delivered; false if they were not.
  bool WaitForDelivered(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return delivered_.size() >= n; });
  }
  // Waits until Deliver was called at least `n` times.
  bool WaitForAttempts(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return attempts_ >= n; });
  }

  std::vector<Delivered> delivered() const {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  std::vector<size_t> batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int attempts_ = 0;
  int fail_next_ = 0;
  bool fail_always_ = false;
  bool stalled_ = false;
  std::vector<Delivered> delivered_;
  std::vector<size_t> batches_;
};

}  // namespace gridgate::testing
