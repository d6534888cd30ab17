#include "common/rate_meter.h"

#include <gtest/gtest.h>

namespace gridgate {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(RateMeterTest, ZeroBeforeAWindowCloses) {
  RateMeter meter(kSecond);
  meter.Add(500, 0);
  EXPECT_EQ(meter.PerSecond(kSecond / 2), 0.0);
}

TEST(RateMeterTest, LastCompletedWindowIsTheRate) {
  RateMeter meter(kSecond);
  meter.Add(100, 0);
  meter.Add(300, kSecond / 2);
  EXPECT_DOUBLE_EQ(meter.PerSecond(kSecond + 1), 400.0);
  meter.Add(50, kSecond + 10);
  EXPECT_DOUBLE_EQ(meter.PerSecond(kSecond + 20), 400.0);
  EXPECT_DOUBLE_EQ(meter.PerSecond(2 * kSecond + 1), 50.0);
}

TEST(RateMeterTest, FallsToZeroAfterAnEmptyWindow) {
  RateMeter meter(kSecond);
  meter.Add(100, 0);
  EXPECT_DOUBLE_EQ(meter.PerSecond(kSecond), 100.0);
  EXPECT_EQ(meter.PerSecond(2 * kSecond + 1), 0.0);
  meter.Add(1, 5 * kSecond);
  EXPECT_EQ(meter.PerSecond(5 * kSecond + 1), 0.0);
}

TEST(RateMeterTest, ScalesShortWindowsToPerSecond) {
  RateMeter meter(kSecond / 10);
  meter.Add(10, 0);
  EXPECT_DOUBLE_EQ(meter.PerSecond(kSecond / 10), 100.0);
}

}  // namespace
}  // namespace gridgate
