#include "tools/load/sink/hdr_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace gridgate::load {
namespace {

// Quantiles as parts per million, so that the reference rank is computed in
// integers: ceil(ppm · n / 1e6), at least 1.
constexpr int64_t kQuantilesPpm[] = {0,       1,       1000,    100'000, 250'000,  500'000,
                                     900'000, 990'000, 999'000, 999'900, 1'000'000};

int64_t ReferenceQuantile(const std::vector<int64_t>& sorted, int64_t ppm) {
  const auto n = static_cast<int64_t>(sorted.size());
  const int64_t rank = std::max<int64_t>(1, (ppm * n + 999'999) / 1'000'000);
  return sorted[static_cast<size_t>(rank - 1)];
}

// Every quantile is at or above the sample of its rank, and within 1/1024 of
// it (exact below 2048); min and max are exact.
void ExpectMatchesReference(const HdrHistogram& h, std::vector<int64_t> values) {
  std::sort(values.begin(), values.end());
  ASSERT_EQ(h.count(), values.size());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  for (const int64_t ppm : kQuantilesPpm) {
    const int64_t want = ReferenceQuantile(values, ppm);
    const int64_t got = h.Quantile(static_cast<double>(ppm) / 1e6);
    EXPECT_GE(got, want) << "q=" << ppm << "ppm";
    EXPECT_LE(got - want, want / 1024) << "q=" << ppm << "ppm, want " << want;
  }
  EXPECT_EQ(h.Quantile(1.0), values.back());
}

TEST(HdrHistogramTest, EmptyReadsZero) {
  HdrHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.Quantile(0.0), 0);
  EXPECT_EQ(h.Quantile(0.5), 0);
  EXPECT_EQ(h.Quantile(1.0), 0);
}

TEST(HdrHistogramTest, QuantileIsTheSmallestValueWithEnoughSamplesAtOrBelow) {
  HdrHistogram h;
  for (int64_t v = 10; v >= 1; --v) {
    h.Record(v);
  }
  EXPECT_EQ(h.Quantile(0.0), 1);
  EXPECT_EQ(h.Quantile(0.1), 1);
  EXPECT_EQ(h.Quantile(0.11), 2);
  EXPECT_EQ(h.Quantile(0.5), 5);
  EXPECT_EQ(h.Quantile(0.51), 6);
  EXPECT_EQ(h.Quantile(0.99), 10);
  EXPECT_EQ(h.Quantile(1.0), 10);
}

TEST(HdrHistogramTest, ValuesBelow2048AreExact) {
  HdrHistogram h;
  std::vector<int64_t> values;
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> dist(0, 2047);
  for (int i = 0; i < 20'000; ++i) {
    values.push_back(dist(rng));
    h.Record(values.back());
  }
  std::sort(values.begin(), values.end());
  for (const int64_t ppm : kQuantilesPpm) {
    EXPECT_EQ(h.Quantile(static_cast<double>(ppm) / 1e6), ReferenceQuantile(values, ppm))
        << "q=" << ppm << "ppm";
  }
}

TEST(HdrHistogramTest, EveryBucketEdgeIsConsistent) {
  // Exhaustive over the buckets: each upper edge maps back to its bucket, the
  // value after it to the next, and a bucket is at most 1/1024 of its values.
  for (size_t i = 0; i + 1 < HdrHistogram::kBuckets; ++i) {
    const int64_t edge = HdrHistogram::UpperEdge(i);
    ASSERT_EQ(HdrHistogram::BucketOf(edge), i) << edge;
    ASSERT_EQ(HdrHistogram::BucketOf(edge + 1), i + 1) << edge;
    const int64_t lower = i == 0 ? 0 : HdrHistogram::UpperEdge(i - 1) + 1;
    ASSERT_LE((edge - lower) * 1024, lower) << "bucket " << i;
  }
  EXPECT_EQ(HdrHistogram::UpperEdge(HdrHistogram::kBuckets - 1), HdrHistogram::kHighestTrackable);
  EXPECT_GE(HdrHistogram::kHighestTrackable, int64_t{3'600} * 1'000'000);
}

TEST(HdrHistogramTest, UniformRandomQuantilesAreWithinTheRelativeError) {
  HdrHistogram h;
  std::vector<int64_t> values;
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int64_t> dist(0, 5'000'000);
  for (int i = 0; i < 200'000; ++i) {
    values.push_back(dist(rng));
    h.Record(values.back());
  }
  ExpectMatchesReference(h, values);
}

TEST(HdrHistogramTest, LogUniformRandomQuantilesUpToAnHourAreWithinTheRelativeError) {
  HdrHistogram h;
  std::vector<int64_t> values;
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> exponent(0.0, std::log2(3'600.0 * 1e6));
  for (int i = 0; i < 200'000; ++i) {
    values.push_back(static_cast<int64_t>(std::exp2(exponent(rng))));
    h.Record(values.back());
  }
  ExpectMatchesReference(h, values);
}

TEST(HdrHistogramTest, LongTailedRandomQuantilesAreWithinTheRelativeError) {
  // Mostly around a millisecond, a few seconds-long stragglers: like latencies.
  HdrHistogram h;
  std::vector<int64_t> values;
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> body(1.0 / 1'000.0);
  std::uniform_int_distribution<int64_t> tail(1'000'000, 30'000'000);
  std::bernoulli_distribution straggler(0.002);
  for (int i = 0; i < 100'000; ++i) {
    values.push_back(straggler(rng) ? tail(rng) : static_cast<int64_t>(body(rng)));
    h.Record(values.back());
  }
  ExpectMatchesReference(h, values);
}

TEST(HdrHistogramTest, MinAndMaxAreExactAndQuantilesClampToMax) {
  HdrHistogram h;
  h.Record(1'234'567);
  EXPECT_EQ(h.min(), 1'234'567);
  EXPECT_EQ(h.max(), 1'234'567);
  EXPECT_EQ(h.Quantile(0.0), 1'234'567) << "the bucket's upper edge is clamped to max()";
  EXPECT_EQ(h.Quantile(0.5), 1'234'567);
  h.Record(3'000);
  EXPECT_EQ(h.min(), 3'000);
  EXPECT_EQ(h.Quantile(0.5), HdrHistogram::UpperEdge(HdrHistogram::BucketOf(3'000)));
}

TEST(HdrHistogramTest, NegativeValuesCountAsZero) {
  HdrHistogram h;
  h.Record(-5);
  h.Record(-1'000'000);
  h.Record(7);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 7);
  EXPECT_EQ(h.Quantile(0.5), 0);
}

TEST(HdrHistogramTest, ValuesBeyondTheRangeCountInTheTopBucketWithAnExactMax) {
  HdrHistogram h;
  const int64_t huge = HdrHistogram::kHighestTrackable * 4;
  h.Record(huge);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.max(), huge);
  EXPECT_EQ(h.Quantile(1.0), huge);
  EXPECT_EQ(h.Quantile(0.5), HdrHistogram::kHighestTrackable);
}

TEST(HdrHistogramTest, MergeEqualsRecordingEverythingInOne) {
  HdrHistogram a;
  HdrHistogram b;
  HdrHistogram all;
  std::vector<int64_t> values;
  std::mt19937_64 rng(4);
  std::uniform_int_distribution<int64_t> dist(0, 100'000'000);
  for (int i = 0; i < 50'000; ++i) {
    const int64_t v = dist(rng) >> (i % 20);  // a spread of magnitudes
    values.push_back(v);
    all.Record(v);
    (i % 3 == 0 ? a : b).Record(v);
  }
  a.Merge(b);
  ExpectMatchesReference(a, values);
  for (const int64_t ppm : kQuantilesPpm) {
    const double q = static_cast<double>(ppm) / 1e6;
    EXPECT_EQ(a.Quantile(q), all.Quantile(q)) << "q=" << ppm << "ppm";
  }
}

TEST(HdrHistogramTest, MergeWithEmptyAndIntoEmptyKeepsMinAndMax) {
  HdrHistogram full;
  full.Record(500);
  full.Record(90'000);
  HdrHistogram empty;
  full.Merge(empty);
  EXPECT_EQ(full.count(), 2u);
  EXPECT_EQ(full.min(), 500);
  empty.Merge(full);
  EXPECT_EQ(empty.count(), 2u);
  EXPECT_EQ(empty.min(), 500);
  EXPECT_EQ(empty.max(), 90'000);
  empty.Merge(empty);
  EXPECT_EQ(empty.count(), 4u);
  EXPECT_EQ(empty.min(), 500);
  EXPECT_EQ(empty.Quantile(0.5), 500);
}

TEST(HdrHistogramTest, ResetForgetsEverything) {
  HdrHistogram h;
  h.Record(10);
  h.Record(1'000'000);
  h.Reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.Quantile(0.5), 0);
  h.Record(42);
  EXPECT_EQ(h.min(), 42);
  EXPECT_EQ(h.Quantile(0.0), 42);
}

TEST(HdrHistogramTest, ACopyIsIndependentAndAMovedFromHistogramStillWorks) {
  HdrHistogram h;
  h.Record(100);
  HdrHistogram copy = h;
  copy.Record(200);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(copy.count(), 2u);
  HdrHistogram moved = std::move(h);
  h.Record(300);  // NOLINT(bugprone-use-after-move): the move is a copy
  EXPECT_EQ(moved.count(), 1u);
  EXPECT_EQ(h.count(), 2u);
}

}  // namespace
}  // namespace gridgate::load
