#pragma once

#include <atomic>
#include <cstdint>

#include "common/clock.h"

namespace gridgate::testing {

// A clock that moves only when a test says so. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_unix_ns = 1'780'000'000'000'000'000)
      : mono_ns_(1'000'000'000), unix_ns_(start_unix_ns) {}

  int64_t MonotonicNs() const override { return mono_ns_.load(std::memory_order_relaxed); }
  int64_t UnixNs() const override { return unix_ns_.load(std::memory_order_relaxed); }

  void AdvanceMs(int64_t ms) {
    mono_ns_.fetch_add(ms * 1'000'000, std::memory_order_relaxed);
    unix_ns_.fetch_add(ms * 1'000'000, std::memory_order_relaxed);
  }

 private:
  std::atomic<int64_t> mono_ns_;
  std::atomic<int64_t> unix_ns_;
};

}  // namespace gridgate::testing
