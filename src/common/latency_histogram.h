#pragma once

#include <array>
#include <cstdint>

namespace gridgate {

// Counts of latencies in buckets that grow by a factor of 2^(1/4) (about
// 19%) from 1 microsecond to about 4.6 hours, so a quantile read from it is
// within one bucket, about 19%, of the true value. Fixed size, no allocation.
// Not thread-safe: the owner serializes Record and Quantile.
class LatencyHistogram {
 public:
  static constexpr int kBucketsPerDoubling = 4;
  static constexpr int kBuckets = 34 * kBucketsPerDoubling;

  // Records one latency; negative values count as 0.
  void Record(int64_t latency_ns);

  // The latency below which a `q` share (0..1) of the recorded ones lie, in
  // nanoseconds (the upper edge of its bucket); 0 when nothing was recorded.
  int64_t Quantile(double q) const;

  uint64_t count() const { return count_; }
  void Reset();

 private:
  static int BucketOf(int64_t latency_ns);
  static int64_t UpperEdgeNs(int bucket);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
};

}  // namespace gridgate
