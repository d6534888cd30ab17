#pragma once

#include <array>
#include <cassert>
#include <cstddef>

#include "event/priority.h"

namespace gridgate::buffer {

// The byte budget of the memory tier and the reserves carved out of it.
// Critical events may use the whole budget; high events all but the critical
// reserve; normal and low events all but both reserves. So a flood of
// readings stops short of the memory that alerts need.
//
// Counts record bytes (header and body) of events queued or in flight, not
// mapped capacity. Not thread-safe: used under the filter's lock.
class MemoryBudget {
 public:
  // Precondition: critical_reserve_bytes + high_reserve_bytes < budget_bytes.
  MemoryBudget(size_t budget_bytes, size_t critical_reserve_bytes, size_t high_reserve_bytes)
      : budget_bytes_(budget_bytes),
        limits_{budget_bytes, budget_bytes - critical_reserve_bytes,
                budget_bytes - critical_reserve_bytes - high_reserve_bytes,
                budget_bytes - critical_reserve_bytes - high_reserve_bytes} {
    assert(critical_reserve_bytes + high_reserve_bytes < budget_bytes);
  }

  // The most bytes that may be in use after admitting an event of level `p`.
  size_t LimitFor(Priority p) const { return limits_[LevelIndex(p)]; }

  bool CanAdmit(Priority p, size_t bytes) const { return used_ + bytes <= LimitFor(p); }

  // Precondition for Charge: CanAdmit(p, bytes).
  void Charge(size_t bytes) {
    used_ += bytes;
    peak_ = used_ > peak_ ? used_ : peak_;
  }
  // Precondition: bytes <= used().
  void Credit(size_t bytes) {
    assert(bytes <= used_);
    used_ -= bytes;
  }

  size_t budget_bytes() const { return budget_bytes_; }
  size_t used() const { return used_; }
  // The most bytes ever in use at once since construction.
  size_t peak() const { return peak_; }

 private:
  const size_t budget_bytes_;
  const std::array<size_t, kNumPriorities> limits_;
  size_t used_ = 0;
  size_t peak_ = 0;
};

}  // namespace gridgate::buffer
