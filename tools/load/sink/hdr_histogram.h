#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gridgate::load {

// An HDR-style log-linear histogram of non-negative integer values (the load
// tool records latencies in microseconds). Values below 2048 have a bucket of
// their own; above, each power-of-two range [2^k, 2^(k+1)) is cut into 1024
// equal buckets, so a bucket's width is at most 1/1024 of the values in it.
// Values up to kHighestTrackable (2^34 - 1, about 4.8 hours in µs) are
// bucketed; larger ones count in the top bucket. min() and max() are exact.
//
// The bucket array (kBuckets counters, about 200 KiB) is allocated once, by
// the constructor; Record, Merge, Quantile and Reset never allocate. Copying
// copies the array; a moved-from histogram is a copy too (there is no move
// that would leave it without its array).
//
// Not thread-safe: the owner serializes every call.
class HdrHistogram {
 public:
  static constexpr int kSubBucketBits = 10;                    // 1024 buckets per doubling
  static constexpr int64_t kExactBelow = 2 << kSubBucketBits;  // 2048: exact below
  static constexpr int kHighestBit = 33;                       // top range [2^33, 2^34)
  static constexpr int64_t kHighestTrackable = (int64_t{1} << (kHighestBit + 1)) - 1;
  static constexpr size_t kBuckets =
      kExactBelow + size_t{kHighestBit - kSubBucketBits} * (size_t{1} << kSubBucketBits);
  static_assert(kHighestTrackable >= int64_t{3'600'000'000},
                "the range covers at least one hour in microseconds");

  HdrHistogram();
  HdrHistogram(const HdrHistogram&) = default;
  HdrHistogram& operator=(const HdrHistogram&) = default;

  // Counts one value; a negative value counts as 0. No allocation.
  void Record(int64_t value);

  // Adds every count of `other` to this one (`other` may be this).
  void Merge(const HdrHistogram& other);

  uint64_t count() const { return count_; }
  // The smallest and largest recorded values, exact; 0 when empty.
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }

  // The value at quantile `q` (clamped to 0..1): the upper edge of the first
  // bucket at which at least q·count() samples are at or below it, clamped to
  // max(). So the answer is never below the true sample at that rank and at
  // most 1/1024 above it (exact below 2048). q = 1 gives max(); 0 when empty.
  int64_t Quantile(double q) const;

  // Forgets every value. No allocation.
  void Reset();

  // The bucket of `value` (clamped to 0..kHighestTrackable), and the largest
  // value in bucket `index`. Exposed for tests.
  static size_t BucketOf(int64_t value);
  static int64_t UpperEdge(size_t index);

 private:
  std::vector<uint64_t> buckets_;  // kBuckets long, from the constructor on
  uint64_t count_ = 0;
  int64_t min_ = 0;  // meaningful only when count_ > 0
  int64_t max_ = 0;
};

}  // namespace gridgate::load
