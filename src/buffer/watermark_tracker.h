#pragma once

#include <cassert>
#include <cstddef>

namespace gridgate::buffer {

// High and low watermarks with hysteresis: the tracker becomes pressured when
// the level reaches the high watermark and stays so until it falls to the low
// watermark, so a level hovering near one mark does not flap. Update reports
// each crossing exactly once. Not thread-safe.
class WatermarkTracker {
 public:
  enum class Crossing { kNone, kRoseToHigh, kFellToLow };

  // Precondition: low_bytes < high_bytes.
  WatermarkTracker(size_t low_bytes, size_t high_bytes) : low_(low_bytes), high_(high_bytes) {
    assert(low_bytes < high_bytes);
  }

  Crossing Update(size_t level_bytes) {
    if (!pressured_ && level_bytes >= high_) {
      pressured_ = true;
      return Crossing::kRoseToHigh;
    }
    if (pressured_ && level_bytes <= low_) {
      pressured_ = false;
      return Crossing::kFellToLow;
    }
    return Crossing::kNone;
  }

  bool pressured() const { return pressured_; }
  size_t low_bytes() const { return low_; }
  size_t high_bytes() const { return high_; }

 private:
  const size_t low_;
  const size_t high_;
  bool pressured_ = false;
};

}  // namespace gridgate::buffer
