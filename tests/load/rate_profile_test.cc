#include "tools/load/rate_profile.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gridgate::load {
namespace {

// The integral of RateAt by the midpoint rule, for comparison with EventsBy.
double Integrate(const RateProfile& p, double t, int steps = 200'000) {
  const double dt = t / steps;
  double sum = 0;
  for (int i = 0; i < steps; ++i) {
    sum += p.RateAt((i + 0.5) * dt) * dt;
  }
  return sum;
}

TEST(RateProfileTest, TheDefaultStormHasTheIssuesShape) {
  const RateProfile p = RateProfile::Storm();
  ASSERT_TRUE(p.Validate().ok());
  EXPECT_DOUBLE_EQ(p.DurationSeconds(), 36);
  EXPECT_DOUBLE_EQ(p.RateAt(0), 10'000);
  EXPECT_DOUBLE_EQ(p.RateAt(4.99), 10'000);
  EXPECT_NEAR(p.RateAt(5.5), 255'000, 1);  // half way up the ramp
  EXPECT_DOUBLE_EQ(p.RateAt(6.0), 500'000);
  EXPECT_DOUBLE_EQ(p.RateAt(15.99), 500'000);
  EXPECT_LT(p.RateAt(20), 500'000);
  EXPECT_GT(p.RateAt(20), p.RateAt(25));
  // The decay ends 1% of the excess above the baseline.
  EXPECT_NEAR(p.RateAt(35.999), 10'000 + 4'900, 5);
  EXPECT_EQ(p.RateAt(36), 0);
  // 5 million events in the hold alone.
  EXPECT_NEAR(p.EventsBy(16) - p.EventsBy(6), 5'000'000, 1);
}

TEST(RateProfileTest, EventsByIsTheIntegralOfTheRate) {
  RateProfile p = RateProfile::Storm();
  p.tail_seconds = 3;
  for (double t : {0.0, 2.5, 5.0, 5.3, 6.0, 11.0, 16.0, 17.5, 30.0, 36.0, 38.0, 39.0}) {
    SCOPED_TRACE(t);
    EXPECT_NEAR(p.EventsBy(t), Integrate(p, t), 0.5 + 1e-6 * p.EventsBy(t));
  }
  EXPECT_DOUBLE_EQ(p.EventsBy(100), p.TotalEvents());
  EXPECT_EQ(p.EventsBy(-1), 0);
}

TEST(RateProfileTest, SteadyIsFlat) {
  const RateProfile p = RateProfile::Steady(10'000, 60);
  ASSERT_TRUE(p.Validate().ok());
  EXPECT_DOUBLE_EQ(p.DurationSeconds(), 60);
  EXPECT_DOUBLE_EQ(p.RateAt(30), 10'000);
  EXPECT_DOUBLE_EQ(p.TotalEvents(), 600'000);
  EXPECT_NE(p.Describe().find("steady 10000 events/s for 60 s"), std::string::npos) << p.Describe();
}

TEST(RateProfileTest, ARampOfZeroSecondsIsAStep) {
  RateProfile p = RateProfile::Storm();
  p.ramp_seconds = 0;
  ASSERT_TRUE(p.Validate().ok());
  EXPECT_DOUBLE_EQ(p.RateAt(5), 500'000);
  EXPECT_NEAR(p.EventsBy(6), 50'000 + 500'000, 1e-6);
}

TEST(RateProfileTest, ValidateNamesTheBadField) {
  RateProfile p = RateProfile::Storm();
  p.hold_seconds = -1;
  EXPECT_NE(p.Validate().message().find("hold_seconds"), std::string::npos);
  p = RateProfile::Storm();
  p.peak_eps = NAN;
  EXPECT_NE(p.Validate().message().find("peak_eps"), std::string::npos);
  p = RateProfile::Storm();
  p.peak_eps = 5'000;  // below the baseline
  EXPECT_NE(p.Validate().message().find("peak_eps"), std::string::npos);
  EXPECT_FALSE(RateProfile::Steady(10, 0).Validate().ok());
}

}  // namespace
}  // namespace gridgate::load
