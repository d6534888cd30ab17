#include "common/latency_histogram.h"

#include <gtest/gtest.h>

namespace gridgate {
namespace {

TEST(LatencyHistogramTest, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.Quantile(0.5), 0);
  EXPECT_EQ(h.count(), 0u);
}

TEST(LatencyHistogramTest, QuantilesAreWithinOneBucketOfTheTruth) {
  LatencyHistogram h;
  // 1..1000 ms, uniformly.
  for (int64_t ms = 1; ms <= 1000; ++ms) {
    h.Record(ms * 1'000'000);
  }
  EXPECT_EQ(h.count(), 1000u);
  const double p50 = static_cast<double>(h.Quantile(0.5));
  const double p99 = static_cast<double>(h.Quantile(0.99));
  EXPECT_GE(p50, 500e6);
  EXPECT_LE(p50, 500e6 * 1.19);
  EXPECT_GE(p99, 990e6);
  EXPECT_LE(p99, 990e6 * 1.19);
}

TEST(LatencyHistogramTest, OutliersLandInTheEdgeBuckets) {
  LatencyHistogram h;
  h.Record(-5);
  h.Record(0);
  EXPECT_LE(h.Quantile(1.0), 1000);
  h.Record(int64_t{1} << 62);
  EXPECT_GT(h.Quantile(1.0), int64_t{1000} * 1'000'000'000);
  h.Reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Quantile(0.99), 0);
}

}  // namespace
}  // namespace gridgate
