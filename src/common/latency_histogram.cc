#include "common/latency_histogram.h"

#include <cmath>

namespace gridgate {

int LatencyHistogram::BucketOf(int64_t latency_ns) {
  if (latency_ns <= 1000) {
    return 0;
  }
  const double doublings = std::log2(static_cast<double>(latency_ns) / 1000.0);
  const int bucket = static_cast<int>(std::ceil(doublings * kBucketsPerDoubling));
  return bucket >= kBuckets ? kBuckets - 1 : bucket;
}

int64_t LatencyHistogram::UpperEdgeNs(int bucket) {
  return static_cast<int64_t>(
      std::llround(1000.0 * std::exp2(static_cast<double>(bucket) / kBucketsPerDoubling)));
}

void LatencyHistogram::Record(int64_t latency_ns) {
  ++buckets_[BucketOf(latency_ns)];
  ++count_;
}

int64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) {
    return 0;
  }
  // The rank of the wanted sample, 1-based: at least one.
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank && seen > 0) {
      return UpperEdgeNs(b);
    }
  }
  return UpperEdgeNs(kBuckets - 1);
}

void LatencyHistogram::Reset() {
  buckets_.fill(0);
  count_ = 0;
}

}  // namespace gridgate
