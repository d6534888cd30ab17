// After a storm the filter hands its slabs back to the OS, so that the
// process's resident memory falls again: once used memory has stayed at or
// under the low watermark for release_quiet_period_ms, and not before. Time
// is a FakeClock; only the resident set size is real.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/process_memory.h"
#include "event/record_codec.h"
#include "fakes/event_factory.h"
#include "fakes/fake_clock.h"
#include "filter/backpressure_filter.h"

namespace gridgate::filter {
namespace {

using gridgate::testing::EventFactory;
using gridgate::testing::FakeClock;
using gridgate::testing::PayloadId;
using std::chrono::nanoseconds;

constexpr size_t kBudgetBytes = size_t{64} << 20;
constexpr size_t kSlabBytes = size_t{1} << 20;
constexpr int64_t kQuietPeriodMs = 5000;
constexpr size_t kPayloadBytes = 4000;
constexpr size_t kBatchEvents = 64;

uint64_t Rss() {
  const Result<uint64_t> rss = ResidentBytes();
  EXPECT_TRUE(rss.ok()) << rss.status().ToString();
  return rss.ok() ? rss.value() : 0;
}

class MemoryReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FilterOptions o;
    o.budget_bytes = kBudgetBytes;
    o.slab_bytes = kSlabBytes;
    o.release_quiet_period_ms = kQuietPeriodMs;
    o.clock = &clock_;
    auto filter = BackpressureFilter::Create(o);
    ASSERT_TRUE(filter.ok()) << filter.status().ToString();
    filter_ = std::move(filter).value();
    // One batch of events, pushed again and again: the bytes behind it stay
    // small, so the resident set measures the filter's slabs.
    for (size_t i = 0; i < kBatchEvents; ++i) {
      batch_.push_back(factory_.Make(Priority::kNormal, i, kPayloadBytes));
    }
    record_bytes_ = record::RecordSize(batch_[0]);
  }

  // Pushes batches of normal events until the first refusal, or until used
  // memory reaches `target_bytes`. Returns the bytes pushed.
  size_t FillTo(size_t target_bytes) {
    std::vector<PushOutcome> outcomes(batch_.size());
    size_t pushed = 0;
    while (filter_->Stats().used_bytes + batch_.size() * record_bytes_ <= target_bytes) {
      EXPECT_TRUE(filter_->Push(batch_, outcomes).ok());
      bool refused = false;
      for (const PushOutcome& o : outcomes) {
        if (o.result == PushResult::kQueued) {
          pushed += record_bytes_;
        } else {
          EXPECT_EQ(o.reason, RefuseReason::kMemoryFull);
          refused = true;
        }
      }
      if (refused) {
        break;
      }
    }
    return pushed;
  }

  // Fills until a push is refused: as near the budget as normal events get.
  size_t FillToLimit() { return FillTo(SIZE_MAX); }

  // Pops and acks until used memory is at or under `target_bytes`; returns
  // how many events came out. Every one carries a payload id of the batch.
  size_t PopAckDownTo(size_t target_bytes) {
    PopBatch batch;
    size_t events = 0;
    while (filter_->Stats().used_bytes > target_bytes) {
      PopLimits limits;
      limits.max_events = 16;
      EXPECT_TRUE(filter_->Pop(limits, nanoseconds(0), &batch).ok());
      if (batch.empty()) {
        ADD_FAILURE() << "nothing to pop with " << filter_->Stats().used_bytes << " bytes used";
        break;
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        EXPECT_LT(PayloadId(batch.event(i).payload), kBatchEvents);
        EXPECT_EQ(batch.event(i).payload.size(), kPayloadBytes);
      }
      events += batch.size();
      EXPECT_TRUE(filter_->Ack(&batch).ok());
    }
    return events;
  }

  size_t PopAckAll() { return PopAckDownTo(0); }

  FakeClock clock_;
  EventFactory factory_;
  std::unique_ptr<BackpressureFilter> filter_;
  std::vector<Event> batch_;
  size_t record_bytes_ = 0;
};

TEST_F(MemoryReleaseTest, SlabsStayMappedThroughQuietPeriodThenMaintainReleasesThem) {
  const uint64_t rss_before = Rss();
  const size_t pushed = FillToLimit();
  const FilterStats full = filter_->Stats();
  // Near the budget: within one batch of the normal level's limit.
  const size_t normal_limit =
      full.budget_bytes - full.critical_reserve_bytes - full.high_reserve_bytes;
  EXPECT_EQ(full.used_bytes, pushed);
  EXPECT_GT(full.used_bytes + kBatchEvents * record_bytes_, normal_limit);
  EXPECT_GE(full.mapped_bytes, pushed);
  EXPECT_EQ(full.slabs_mapped_total, full.slabs_mapped);
  const uint64_t rss_full = Rss();
  EXPECT_GE(rss_full, rss_before + pushed / 2);

  EXPECT_EQ(PopAckAll() * record_bytes_, pushed);
  FilterStats s = filter_->Stats();
  EXPECT_EQ(s.used_bytes, 0u);
  EXPECT_TRUE(s.LedgerBalanced());
  EXPECT_EQ(s.mapped_bytes, full.mapped_bytes);
  EXPECT_EQ(s.slabs_idle, s.slabs_mapped);

  // Not yet: 4 of the 5 quiet seconds have passed.
  clock_.AdvanceMs(kQuietPeriodMs - 1000);
  filter_->Maintain();
  s = filter_->Stats();
  EXPECT_EQ(s.mapped_bytes, full.mapped_bytes);
  EXPECT_EQ(s.slabs_unmapped_total, 0u);

  clock_.AdvanceMs(1001);
  filter_->Maintain();
  s = filter_->Stats();
  EXPECT_EQ(s.mapped_bytes, 0u);
  EXPECT_EQ(s.slabs_mapped, 0u);
  EXPECT_EQ(s.slabs_idle, 0u);
  EXPECT_EQ(s.slabs_unmapped_total, full.slabs_mapped);

  const uint64_t rss_after = Rss();
  EXPECT_LE(rss_after + (rss_full - rss_before) / 2, rss_full)
      << "RSS before " << rss_before << ", full " << rss_full << ", after " << rss_after;
}

TEST_F(MemoryReleaseTest, PopWithZeroTimeoutReleasesIdleSlabsAfterQuietPeriod) {
  const size_t pushed = FillToLimit();
  const FilterStats full = filter_->Stats();
  ASSERT_GT(full.slabs_mapped, 0u);
  const uint64_t rss_full = Rss();
  EXPECT_EQ(PopAckAll() * record_bytes_, pushed);

  PopBatch batch;
  clock_.AdvanceMs(kQuietPeriodMs - 1000);
  ASSERT_TRUE(filter_->Pop(PopLimits{}, nanoseconds(0), &batch).ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(filter_->Stats().mapped_bytes, full.mapped_bytes);

  clock_.AdvanceMs(1001);
  ASSERT_TRUE(filter_->Pop(PopLimits{}, nanoseconds(0), &batch).ok());
  EXPECT_TRUE(batch.empty());
  const FilterStats s = filter_->Stats();
  EXPECT_EQ(s.mapped_bytes, 0u);
  EXPECT_EQ(s.slabs_mapped, 0u);
  EXPECT_EQ(s.slabs_unmapped_total, full.slabs_mapped);

  EXPECT_LE(Rss() + pushed / 2, rss_full);
}

TEST_F(MemoryReleaseTest, SlabsStayMappedWhileUsedStaysAboveLowWatermark) {
  const FilterStats empty = filter_->Stats();
  const size_t low = empty.low_watermark_bytes;
  const size_t high = empty.high_watermark_bytes;
  // Between the watermarks, then back down to just above the low one: the
  // slabs emptied on the way are idle, but the storm is not over.
  FillTo((low + high) / 2);
  ASSERT_GT(filter_->Stats().used_bytes, low + 2 * kSlabBytes);
  PopAckDownTo(low + kSlabBytes);
  FilterStats s = filter_->Stats();
  ASSERT_GT(s.used_bytes, low);
  ASSERT_GT(s.slabs_idle, 0u);
  const uint64_t mapped = s.mapped_bytes;

  // Ten minutes above the low watermark, with maintenance and pops.
  PopBatch batch;
  for (int minute = 0; minute < 10; ++minute) {
    clock_.AdvanceMs(60'000);
    filter_->Maintain();
    PopLimits one;
    one.max_events = 1;
    ASSERT_TRUE(filter_->Pop(one, nanoseconds(0), &batch).ok());
    ASSERT_EQ(batch.size(), 1u);
    ASSERT_TRUE(filter_->Return(&batch).ok());
  }
  s = filter_->Stats();
  EXPECT_EQ(s.mapped_bytes, mapped);
  EXPECT_EQ(s.slabs_unmapped_total, 0u);

  // Under the low watermark now, but the quiet period starts only now, however
  // long the slabs have been idle.
  PopAckAll();
  filter_->Maintain();
  EXPECT_EQ(filter_->Stats().mapped_bytes, mapped);
  clock_.AdvanceMs(kQuietPeriodMs - 1);
  filter_->Maintain();
  EXPECT_EQ(filter_->Stats().mapped_bytes, mapped);
  clock_.AdvanceMs(1);
  filter_->Maintain();
  s = filter_->Stats();
  EXPECT_EQ(s.mapped_bytes, 0u);
  EXPECT_EQ(s.slabs_unmapped_total, s.slabs_mapped_total);
}

TEST_F(MemoryReleaseTest, SlabsMappedAgainAfterReleaseCarryTheNextStorm) {
  const size_t first = FillToLimit();
  const uint64_t mapped_first = filter_->Stats().slabs_mapped_total;
  EXPECT_EQ(PopAckAll() * record_bytes_, first);
  clock_.AdvanceMs(kQuietPeriodMs);
  filter_->Maintain();
  ASSERT_EQ(filter_->Stats().slabs_mapped, 0u);

  // A second storm with new ids maps fresh slabs and reads back intact.
  EventFactory factory;
  std::vector<Event> events;
  const size_t count = kBatchEvents * 40;
  for (size_t id = 1000; id < 1000 + count; ++id) {
    events.push_back(factory.Make(Priority::kHigh, id, kPayloadBytes));
  }
  std::vector<PushOutcome> outcomes(events.size());
  ASSERT_TRUE(filter_->Push(events, outcomes).ok());
  for (const PushOutcome& o : outcomes) {
    ASSERT_EQ(o.result, PushResult::kQueued) << RefuseReasonName(o.reason);
  }
  FilterStats s = filter_->Stats();
  EXPECT_GT(s.slabs_mapped, 0u);
  EXPECT_EQ(s.slabs_mapped_total, mapped_first + s.slabs_mapped);

  PopBatch batch;
  uint64_t next_id = 1000;
  while (next_id < 1000 + count) {
    ASSERT_TRUE(filter_->Pop(PopLimits{}, nanoseconds(0), &batch).ok());
    ASSERT_FALSE(batch.empty());
    for (size_t i = 0; i < batch.size(); ++i) {
      const Event e = batch.event(i);
      ASSERT_EQ(PayloadId(e.payload), next_id);
      ASSERT_EQ(e.payload, events[next_id - 1000].payload);
      ASSERT_EQ(e.priority, Priority::kHigh);
      ++next_id;
    }
    ASSERT_TRUE(filter_->Ack(&batch).ok());
  }
  s = filter_->Stats();
  EXPECT_EQ(s.used_bytes, 0u);
  EXPECT_EQ(s.Delivered(), first / record_bytes_ + count);
  EXPECT_TRUE(s.LedgerBalanced());

  // And the second storm's slabs go back too.
  clock_.AdvanceMs(kQuietPeriodMs);
  filter_->Maintain();
  EXPECT_EQ(filter_->Stats().slabs_mapped, 0u);
  EXPECT_EQ(filter_->Stats().slabs_unmapped_total, filter_->Stats().slabs_mapped_total);
}

}  // namespace
}  // namespace gridgate::filter
