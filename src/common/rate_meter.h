#pragma once

#include <cstdint>

namespace gridgate {

// A rate over fixed windows: PerSecond() is the amount added during the last
// completed window, scaled to one second, and 0 once a whole window has passed
// with nothing added. Cheap enough to feed once per batch. Not thread-safe.
class RateMeter {
 public:
  // Precondition: window_ns > 0.
  explicit RateMeter(int64_t window_ns = 1'000'000'000) : window_ns_(window_ns) {}

  void Add(uint64_t amount, int64_t now_ns) {
    Roll(now_ns);
    current_ += amount;
  }

  double PerSecond(int64_t now_ns) const {
    uint64_t last = last_;
    if (started_ && now_ns - window_start_ns_ >= window_ns_) {
      // The current window has closed since the last Add; it is the last one
      // unless a whole empty window followed it.
      last = now_ns - window_start_ns_ < 2 * window_ns_ ? current_ : 0;
    }
    return static_cast<double>(last) * 1e9 / static_cast<double>(window_ns_);
  }

 private:
  void Roll(int64_t now_ns) {
    if (!started_) {
      started_ = true;
      window_start_ns_ = now_ns;
      return;
    }
    const int64_t elapsed = now_ns - window_start_ns_;
    if (elapsed < window_ns_) {
      return;
    }
    // One window closed: its sum is the rate. More than one: the last
    // complete window was empty.
    last_ = elapsed < 2 * window_ns_ ? current_ : 0;
    current_ = 0;
    window_start_ns_ = now_ns - (elapsed % window_ns_);
  }

  const int64_t window_ns_;
  bool started_ = false;
  int64_t window_start_ns_ = 0;
  uint64_t current_ = 0;
  uint64_t last_ = 0;
};

}  // namespace gridgate
