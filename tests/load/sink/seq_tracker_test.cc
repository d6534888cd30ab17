#include "tools/load/sink/seq_tracker.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>

namespace gridgate::load {
namespace {

TEST(SeqTrackerTest, EmptyHasSeenNothing) {
  SeqTracker t;
  EXPECT_EQ(t.unique(), 0u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.end(), 0u);
  EXPECT_FALSE(t.Seen(0));
  EXPECT_FALSE(t.Seen(1'000'000));
  EXPECT_EQ(t.CountMissingBelow(0), 0u);
  EXPECT_EQ(t.CountMissingBelow(100), 100u);
  SeqTracker expected;
  expected.Mark(3);
  EXPECT_EQ(t.CountMissing(expected), 1u);
  EXPECT_EQ(expected.CountMissing(t), 0u);
}

TEST(SeqTrackerTest, TheFirstMarkIsNewAndTheNextOnesAreDuplicates) {
  SeqTracker t;
  EXPECT_TRUE(t.Mark(5));
  EXPECT_FALSE(t.Mark(5));
  EXPECT_FALSE(t.Mark(5));
  EXPECT_TRUE(t.Mark(0));
  EXPECT_TRUE(t.Seen(5));
  EXPECT_TRUE(t.Seen(0));
  EXPECT_FALSE(t.Seen(4));
  EXPECT_EQ(t.unique(), 2u);
  EXPECT_EQ(t.duplicates(), 2u);
  EXPECT_EQ(t.end(), 6u);
  EXPECT_EQ(t.CountMissingBelow(6), 4u);
}

TEST(SeqTrackerTest, RandomMarksMatchASetAtEveryWordBoundary) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<uint64_t> dist(0, 5'000);
  SeqTracker t;
  SeqTracker other;
  std::set<uint64_t> seen;
  std::set<uint64_t> other_seen;
  uint64_t duplicates = 0;
  for (int i = 0; i < 4'000; ++i) {
    const uint64_t seq = dist(rng);
    const bool fresh = seen.insert(seq).second;
    duplicates += fresh ? 0 : 1;
    EXPECT_EQ(t.Mark(seq), fresh) << seq;
    const uint64_t o = dist(rng) + 1'000;  // reaches past t's bitmap
    other_seen.insert(o);
    other.Mark(o);
  }
  EXPECT_EQ(t.unique(), seen.size());
  EXPECT_EQ(t.duplicates(), duplicates);
  EXPECT_EQ(t.end(), *seen.rbegin() + 1);

  for (uint64_t end = 0; end <= 6'200; ++end) {  // every offset in a word, past the end too
    ASSERT_EQ(t.Seen(end), seen.count(end) == 1) << end;
    const auto present = static_cast<uint64_t>(
        std::distance(seen.begin(), seen.lower_bound(end)));  // marked in [0, end)
    ASSERT_EQ(t.CountMissingBelow(end), end - present) << end;
  }

  uint64_t missing = 0;
  for (const uint64_t o : other_seen) {
    missing += seen.count(o) == 0 ? 1 : 0;
  }
  EXPECT_EQ(t.CountMissing(other), missing);
}

TEST(SeqTrackerTest, LostIsWhatWasAcceptedButNeverArrived) {
  SeqTracker accepted;
  SeqTracker arrived;
  for (uint64_t seq = 0; seq < 1'000; ++seq) {
    const bool refused = seq % 100 == 7;  // 7, 107, ..., 907: never accepted
    if (!refused) {
      accepted.Mark(seq);
    }
    if (!refused && seq % 250 != 3 && seq < 990) {  // 3, 253, 503, 753 and 990.. lost
      arrived.Mark(seq);
    }
  }
  arrived.Mark(7);  // arrived though refused: not a loss
  arrived.Mark(8);  // again: a duplicate, not a loss either
  EXPECT_EQ(arrived.CountMissing(accepted), 4u + 10u);
  EXPECT_EQ(arrived.duplicates(), 1u);
  EXPECT_EQ(arrived.CountMissingBelow(1'000), 4u + 10u + 9u /* 107 .. 907 */);
  EXPECT_EQ(accepted.CountMissing(arrived), 1u) << "7 is in arrived only";
}

TEST(SeqTrackerTest, GrowsToTensOfMillions) {
  SeqTracker t;
  EXPECT_TRUE(t.Mark(30'000'000));
  for (uint64_t seq = 0; seq < 30'000'000; seq += 3) {
    t.Mark(seq);
  }
  EXPECT_EQ(t.end(), 30'000'001u);
  EXPECT_EQ(t.unique(), 10'000'001u);
  EXPECT_EQ(t.CountMissingBelow(30'000'001), 20'000'000u);
  EXPECT_TRUE(t.Seen(29'999'997));
  EXPECT_FALSE(t.Seen(29'999'998));
}

TEST(SeqTrackerTest, ResetForgetsEverything) {
  SeqTracker t;
  t.Mark(1);
  t.Mark(1);
  t.Mark(700);
  t.Reset();
  EXPECT_EQ(t.unique(), 0u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.end(), 0u);
  EXPECT_FALSE(t.Seen(700));
  EXPECT_TRUE(t.Mark(1));
}

}  // namespace
}  // namespace gridgate::load
