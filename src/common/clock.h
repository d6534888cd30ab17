#pragma once

#include <cstdint>

namespace gridgate {

// Time as the gateway sees it. Production code uses SystemClock(); tests pass
// a FakeClock (tests/fakes/fake_clock.h) so that nothing sleeps to wait for
// time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds, for intervals and quiet periods.
  virtual int64_t MonotonicNs() const = 0;
  // Nanoseconds since the Unix epoch, for event timestamps and ages.
  virtual int64_t UnixNs() const = 0;
};

// The process-wide real clock. Never null; lives for the whole process.
Clock* SystemClock();

}  // namespace gridgate
