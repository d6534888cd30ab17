#include "tools/load/sink/hdr_histogram.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

namespace gridgate::load {
namespace {

constexpr int64_t kSubBuckets = int64_t{1} << HdrHistogram::kSubBucketBits;  // 1024

// The rank (1-based) of the sample at quantile q of n samples. q·n is rounded
// up, except that a product a hair above an integer because of binary
// fractions (0.999 · 1000) counts as that integer.
uint64_t RankOf(double q, uint64_t n) {
  const double exact = q * static_cast<double>(n);
  const double nearest = std::round(exact);
  const double rank =
      std::abs(exact - nearest) <= 1e-9 * std::max(1.0, exact) ? nearest : std::ceil(exact);
  return std::clamp<uint64_t>(static_cast<uint64_t>(rank), 1, n);
}

}  // namespace

HdrHistogram::HdrHistogram() : buckets_(kBuckets, 0) {}

size_t HdrHistogram::BucketOf(int64_t value) {
  value = std::clamp<int64_t>(value, 0, kHighestTrackable);
  if (value < kExactBelow) {
    return static_cast<size_t>(value);
  }
  // value is in [2^bit, 2^(bit+1)) with bit >= 11; its top 11 bits pick the
  // bucket, of which the leading one is always set.
  const int bit = std::bit_width(static_cast<uint64_t>(value)) - 1;
  const int shift = bit - kSubBucketBits;
  const int64_t sub = (value >> shift) - kSubBuckets;  // 0..1023
  return static_cast<size_t>(kExactBelow + (bit - kSubBucketBits - 1) * kSubBuckets + sub);
}

int64_t HdrHistogram::UpperEdge(size_t index) {
  assert(index < kBuckets);
  const auto i = static_cast<int64_t>(index);
  if (i < kExactBelow) {
    return i;
  }
  const int64_t range = (i - kExactBelow) / kSubBuckets;  // 0 for [2^11, 2^12)
  const int64_t sub = (i - kExactBelow) % kSubBuckets;
  const int shift = static_cast<int>(range) + 1;
  return ((kSubBuckets + sub + 1) << shift) - 1;
}

void HdrHistogram::Record(int64_t value) {
  value = std::max<int64_t>(value, 0);
  ++buckets_[BucketOf(value)];
  if (count_ == 0 || value < min_) {
    min_ = value;
  }
  max_ = std::max(max_, value);
  ++count_;
}

void HdrHistogram::Merge(const HdrHistogram& other) {
  if (other.count_ == 0) {
    return;
  }
  const int64_t other_min = other.min_;  // read before a self-merge changes it
  for (size_t i = 0; i < kBuckets; ++i) {
    buckets_[i] += other.buckets_[i];
  }
  min_ = count_ == 0 ? other_min : std::min(min_, other_min);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
}

int64_t HdrHistogram::Quantile(double q) const {
  if (count_ == 0) {
    return 0;
  }
  if (!(q < 1.0)) {  // also NaN
    return max_;
  }
  const uint64_t rank = RankOf(std::max(q, 0.0), count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      return std::min(UpperEdge(i), max_);
    }
  }
  // Invariant: the buckets sum to count_, so the loop returned.
  assert(false && "bucket counts do not add up to count()");
  return max_;
}

void HdrHistogram::Reset() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = 0;
  min_ = 0;
  max_ = 0;
}

}  // namespace gridgate::load
