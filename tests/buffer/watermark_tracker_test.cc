#include "buffer/watermark_tracker.h"

#include <gtest/gtest.h>

#include "buffer/memory_budget.h"

namespace gridgate::buffer {
namespace {

using Crossing = WatermarkTracker::Crossing;

TEST(WatermarkTrackerTest, HysteresisReportsEachCrossingOnce) {
  WatermarkTracker t(60, 80);
  EXPECT_EQ(t.Update(79), Crossing::kNone);
  EXPECT_FALSE(t.pressured());
  EXPECT_EQ(t.Update(80), Crossing::kRoseToHigh);
  EXPECT_TRUE(t.pressured());
  EXPECT_EQ(t.Update(95), Crossing::kNone);
  // Between the marks nothing changes in either direction.
  EXPECT_EQ(t.Update(61), Crossing::kNone);
  EXPECT_TRUE(t.pressured());
  EXPECT_EQ(t.Update(79), Crossing::kNone);
  EXPECT_EQ(t.Update(60), Crossing::kFellToLow);
  EXPECT_FALSE(t.pressured());
  EXPECT_EQ(t.Update(70), Crossing::kNone);
  EXPECT_FALSE(t.pressured());
}

TEST(MemoryBudgetTest, ReservesBoundTheLowerLevels) {
  MemoryBudget b(1000, 50, 100);
  EXPECT_EQ(b.LimitFor(Priority::kCritical), 1000u);
  EXPECT_EQ(b.LimitFor(Priority::kHigh), 950u);
  EXPECT_EQ(b.LimitFor(Priority::kNormal), 850u);
  EXPECT_EQ(b.LimitFor(Priority::kLow), 850u);

  b.Charge(850);
  EXPECT_FALSE(b.CanAdmit(Priority::kLow, 1));
  EXPECT_TRUE(b.CanAdmit(Priority::kHigh, 100));
  EXPECT_FALSE(b.CanAdmit(Priority::kHigh, 101));
  EXPECT_TRUE(b.CanAdmit(Priority::kCritical, 150));
  EXPECT_FALSE(b.CanAdmit(Priority::kCritical, 151));
  b.Credit(850);
  EXPECT_EQ(b.used(), 0u);
}

}  // namespace
}  // namespace gridgate::buffer
