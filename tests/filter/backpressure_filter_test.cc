#include "filter/backpressure_filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "event/record_codec.h"
#include "filter/filter_test_util.h"

namespace gridgate::filter {
namespace {

using std::chrono::nanoseconds;

class BackpressureFilterTest : public ::testing::Test {
 protected:
  void SetUp() override { filter_ = MakeFilter(SmallOptions(&clock_)); }

  Event Make(Priority p, uint64_t id, size_t payload_bytes = 200) {
    return factory_.Make(p, id, payload_bytes, clock_.UnixNs());
  }

  // Pushes one event and returns its outcome.
  PushOutcome PushOne(const Event& e) { return PushAll(*filter_, {e})[0]; }

  // Pushes events of `p` with ids from `first_id` until one is refused;
  // returns how many were queued and leaves the refusal in *refusal.
  size_t FillLevel(Priority p, uint64_t first_id, PushOutcome* refusal) {
    size_t queued = 0;
    for (uint64_t id = first_id;; ++id) {
      PushOutcome o = PushOne(Make(p, id));
      if (o.result != PushResult::kQueued) {
        *refusal = o;
        return queued;
      }
      ++queued;
    }
  }

  testing::FakeClock clock_;
  testing::EventFactory factory_;
  std::unique_ptr<BackpressureFilter> filter_;
};

TEST_F(BackpressureFilterTest, PopsStrictlyByPriorityThenFifo) {
  std::vector<Event> events;
  const Priority order[] = {Priority::kLow,  Priority::kNormal,   Priority::kCritical,
                            Priority::kHigh, Priority::kLow,      Priority::kCritical,
                            Priority::kNormal, Priority::kHigh};
  for (uint64_t id = 0; id < 8; ++id) {
    events.push_back(Make(order[id], id));
  }
  for (const PushOutcome& o : PushAll(*filter_, events)) {
    EXPECT_EQ(o.result, PushResult::kQueued);
  }
  EXPECT_EQ(PopAckIds(*filter_), (std::vector<uint64_t>{2, 5, 3, 7, 1, 6, 0, 4}));
}

TEST_F(BackpressureFilterTest, SequenceNumbersIncreaseAcrossLevelsAndAreDelivered) {
  auto outcomes = PushAll(*filter_, {Make(Priority::kLow, 0), Make(Priority::kCritical, 1)});
  EXPECT_EQ(outcomes[0].seq, Seq{1});
  EXPECT_EQ(outcomes[1].seq, Seq{2});
  PopBatch batch;
  ASSERT_TRUE(filter_->Pop({}, nanoseconds(0), &batch).ok());
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch.event(0).seq, Seq{2});
  EXPECT_EQ(batch.event(0).priority, Priority::kCritical);
  EXPECT_EQ(batch.event(0).meter_id, "1ND785727916NMD06");
  EXPECT_EQ(batch.event(0).type, "interval_reading");
  EXPECT_EQ(batch.event(1).seq, Seq{1});
  EXPECT_EQ(batch.events_of(Priority::kCritical), 1u);
  EXPECT_EQ(batch.events_of(Priority::kLow), 1u);
  ASSERT_TRUE(filter_->Ack(&batch).ok());
}

TEST_F(BackpressureFilterTest, PopHonoursItsLimitsButAlwaysMovesOneEvent) {
  std::vector<Event> events;
  for (uint64_t id = 0; id < 10; ++id) {
    events.push_back(Make(Priority::kNormal, id));
  }
  PushAll(*filter_, events);
  EXPECT_EQ(PopAckIds(*filter_, {.max_events = 3, .max_bytes = 1 << 20}),
            (std::vector<uint64_t>{0, 1, 2}));
  const size_t record = record::RecordSize(events[0]);
  EXPECT_EQ(PopAckIds(*filter_, {.max_events = 100, .max_bytes = 2 * record + 1}),
            (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(PopAckIds(*filter_, {.max_events = 100, .max_bytes = 1}),
            (std::vector<uint64_t>{5}));
  EXPECT_EQ(PopAckIds(*filter_), (std::vector<uint64_t>{6, 7, 8, 9}));
}

TEST_F(BackpressureFilterTest, PopOnEmptyFilterTimesOutWithEmptyBatch) {
  PopBatch batch;
  EXPECT_TRUE(filter_->Pop({}, nanoseconds(1'000'000), &batch).ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_FALSE(batch.in_flight());
  EXPECT_EQ(filter_->Ack(&batch).code(), Status::Code::kInvalidArgument)
      << "an empty batch is never in flight";
}

TEST_F(BackpressureFilterTest, RefusesWithReasonAndRetryAfterWhenFull) {
  PushOutcome refusal;
  const size_t queued = FillLevel(Priority::kLow, 0, &refusal);
  EXPECT_GT(queued, 0u);
  EXPECT_EQ(refusal.result, PushResult::kRefused);
  EXPECT_EQ(refusal.reason, RefuseReason::kMemoryFull);
  EXPECT_EQ(RefuseReasonName(refusal.reason), "memory_full");
  EXPECT_EQ(refusal.retry_after_ms, 1000u) << "nothing delivered yet: the default hint";

  FilterStats s = filter_->Stats();
  EXPECT_EQ(s.levels[3].accepted, queued);
  EXPECT_EQ(s.levels[3].refused, 1u);
  EXPECT_EQ(s.refused_by_reason[static_cast<size_t>(RefuseReason::kMemoryFull)], 1u);
  EXPECT_LE(s.used_bytes, s.budget_bytes - s.critical_reserve_bytes - s.high_reserve_bytes);
  EXPECT_TRUE(s.LedgerBalanced());

  // Deliver a tenth of the queue over one second: the hint follows the rate.
  PopBatch batch;
  ASSERT_TRUE(filter_->Pop({.max_events = queued / 10, .max_bytes = 1 << 20}, nanoseconds(0),
                           &batch)
                  .ok());
  ASSERT_TRUE(filter_->Ack(&batch).ok());
  clock_.AdvanceMs(1001);
  const size_t delivered_per_s = batch.bytes();
  // Refill what was freed, then one more is refused.
  FillLevel(Priority::kLow, 100000, &refusal);
  ASSERT_EQ(refusal.reason, RefuseReason::kMemoryFull);
  s = filter_->Stats();
  const double to_clear = static_cast<double>(s.used_bytes - s.low_watermark_bytes);
  const double expected_ms = to_clear * 1000.0 / static_cast<double>(delivered_per_s);
  EXPECT_NEAR(refusal.retry_after_ms, expected_ms, expected_ms * 0.05 + 1);
  EXPECT_GE(refusal.retry_after_ms, 100u);
  EXPECT_LE(refusal.retry_after_ms, 30'000u);
}

TEST_F(BackpressureFilterTest, ReserveKeepsRoomForAlertsUnderALowFlood) {
  PushOutcome refusal;
  FillLevel(Priority::kLow, 0, &refusal);
  ASSERT_EQ(refusal.reason, RefuseReason::kMemoryFull);
  // Normal shares the low events' limit.
  EXPECT_EQ(PushOne(Make(Priority::kNormal, 1'000'000)).reason, RefuseReason::kMemoryFull);

  const size_t high = FillLevel(Priority::kHigh, 2'000'000, &refusal);
  ASSERT_EQ(refusal.reason, RefuseReason::kMemoryFull);
  const size_t critical = FillLevel(Priority::kCritical, 3'000'000, &refusal);
  ASSERT_EQ(refusal.reason, RefuseReason::kMemoryFull);

  const FilterStats s = filter_->Stats();
  const size_t record = record::RecordSize(Make(Priority::kHigh, 0));
  // Each reserve (5% of 64 KiB = 3276 bytes) holds whole records of this size.
  EXPECT_EQ(high, (s.high_reserve_bytes + (s.budget_bytes - s.critical_reserve_bytes -
                                           s.high_reserve_bytes) % record) / record);
  EXPECT_GE(critical, s.critical_reserve_bytes / record);
  EXPECT_LE(s.used_bytes, s.budget_bytes);
  EXPECT_GT(s.used_bytes + record, s.budget_bytes) << "critical may use the whole budget";
  EXPECT_TRUE(s.LedgerBalanced());

  // Popped strictly by priority: all critical first, although pushed last.
  const auto ids = PopAckIds(*filter_, {.max_events = critical, .max_bytes = 1 << 20});
  ASSERT_EQ(ids.size(), critical);
  EXPECT_EQ(ids.front(), 3'000'000u);
}

TEST_F(BackpressureFilterTest, MixedBatchTakesTheAlertAndRefusesTheReadings) {
  PushOutcome refusal;
  FillLevel(Priority::kLow, 0, &refusal);
  const auto outcomes = PushAll(*filter_, {Make(Priority::kLow, 10'000), Make(Priority::kCritical, 10'001),
                                           Make(Priority::kLow, 10'002)});
  EXPECT_EQ(outcomes[0].reason, RefuseReason::kMemoryFull);
  EXPECT_EQ(outcomes[1].result, PushResult::kQueued);
  EXPECT_EQ(outcomes[2].reason, RefuseReason::kMemoryFull);
  EXPECT_EQ(outcomes[0].retry_after_ms, outcomes[2].retry_after_ms);
  EXPECT_EQ(PopAckIds(*filter_, {.max_events = 1, .max_bytes = 1 << 20}),
            (std::vector<uint64_t>{10'001}));
}

TEST_F(BackpressureFilterTest, BadInputGetsAClearErrorAndChangesNothing) {
  PushAll(*filter_, {Make(Priority::kHigh, 1)});
  const FilterStats before = filter_->Stats();

  std::vector<PushOutcome> none;
  Status s = filter_->Push({}, none);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("empty"), std::string::npos);

  std::vector<Event> two = {Make(Priority::kLow, 2), Make(Priority::kLow, 3)};
  std::vector<PushOutcome> one(1);
  s = filter_->Push(two, one);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);

  PopBatch batch;
  EXPECT_EQ(filter_->Pop({.max_events = 0, .max_bytes = 1}, nanoseconds(0), &batch).code(),
            Status::Code::kInvalidArgument);

  const FilterStats after = filter_->Stats();
  EXPECT_EQ(after.Accepted(), before.Accepted());
  EXPECT_EQ(after.Refused(), before.Refused());
  EXPECT_EQ(after.used_bytes, before.used_bytes);
}

TEST_F(BackpressureFilterTest, OversizedAndMalformedEventsAreRefusedAlone) {
  Event too_big = Make(Priority::kCritical, 1, 1025);  // max_event_bytes is 1024
  Event bad_meter = Make(Priority::kHigh, 2);
  const std::string long_meter(300, 'm');
  bad_meter.meter_id = long_meter;
  Event bad_level = Make(Priority::kHigh, 3);
  bad_level.priority = static_cast<Priority>(7);
  Event fine = Make(Priority::kHigh, 4);

  const auto outcomes = PushAll(*filter_, {too_big, bad_meter, bad_level, fine});
  EXPECT_EQ(outcomes[0].reason, RefuseReason::kTooLarge);
  EXPECT_EQ(outcomes[0].retry_after_ms, 0u) << "retrying cannot help";
  EXPECT_EQ(outcomes[1].reason, RefuseReason::kInvalid);
  EXPECT_EQ(outcomes[2].reason, RefuseReason::kInvalid);
  EXPECT_EQ(outcomes[3].result, PushResult::kQueued);

  const FilterStats s = filter_->Stats();
  EXPECT_EQ(s.Accepted(), 1u);
  EXPECT_EQ(s.Refused(), 3u);
  EXPECT_EQ(s.levels[0].refused, 1u);
  EXPECT_EQ(s.levels[1].refused, 1u) << "the bad level is counted by reason only";
  EXPECT_EQ(s.used_bytes, record::RecordSize(fine));
  EXPECT_EQ(PopAckIds(*filter_), (std::vector<uint64_t>{4}));
}

TEST_F(BackpressureFilterTest, EventLargerThanTheWholeBudgetIsTooLarge) {
  // Options guarantee budget >= slab >= largest record, so such an event is
  // caught by max_event_bytes: refused for good, never queued, nothing else hurt.
  Event huge = Make(Priority::kCritical, 1, 128 * 1024);
  const auto outcomes = PushAll(*filter_, {huge, Make(Priority::kCritical, 2)});
  EXPECT_EQ(outcomes[0].reason, RefuseReason::kTooLarge);
  EXPECT_EQ(outcomes[1].result, PushResult::kQueued);
  EXPECT_EQ(filter_->Stats().used_bytes, record::RecordSize(Make(Priority::kCritical, 2)));
}

TEST_F(BackpressureFilterTest, AckDeliversAndFreesTheBudget) {
  PushAll(*filter_, {Make(Priority::kNormal, 1), Make(Priority::kNormal, 2)});
  PopBatch batch;
  ASSERT_TRUE(filter_->Pop({}, nanoseconds(0), &batch).ok());
  FilterStats s = filter_->Stats();
  EXPECT_EQ(s.levels[2].in_flight_events, 2u);
  EXPECT_EQ(s.levels[2].queued_events, 0u);
  EXPECT_EQ(s.used_bytes, batch.bytes()) << "in flight stays charged";
  EXPECT_EQ(s.batches_in_flight, 1u);
  EXPECT_TRUE(s.LedgerBalanced());

  const uint64_t two_events = batch.bytes();
  ASSERT_TRUE(filter_->Ack(&batch).ok());
  s = filter_->Stats();
  EXPECT_EQ(s.levels[2].delivered, 2u);
  EXPECT_EQ(s.levels[2].in_flight_events, 0u);
  EXPECT_EQ(s.used_bytes, 0u);
  EXPECT_EQ(s.peak_used_bytes, two_events) << "the peak outlives the events";
  EXPECT_TRUE(s.LedgerBalanced());

  const Status again = filter_->Ack(&batch);
  EXPECT_EQ(again.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(filter_->Return(&batch).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(filter_->Stats().levels[2].delivered, 2u) << "a second ack changes nothing";
}

TEST_F(BackpressureFilterTest, PopIntoABatchInFlightIsRefused) {
  PushAll(*filter_, {Make(Priority::kNormal, 1), Make(Priority::kNormal, 2)});
  PopBatch batch;
  ASSERT_TRUE(filter_->Pop({.max_events = 1, .max_bytes = 1 << 20}, nanoseconds(0), &batch).ok());
  const Status s = filter_->Pop({}, nanoseconds(0), &batch);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  ASSERT_EQ(batch.size(), 1u) << "the batch in flight is untouched";
  EXPECT_EQ(testing::PayloadId(batch.event(0).payload), 1u);
  ASSERT_TRUE(filter_->Ack(&batch).ok());
  EXPECT_EQ(PopAckIds(*filter_), (std::vector<uint64_t>{2}));
}

TEST_F(BackpressureFilterTest, ReturnedEventsComeBackAtTheHeadOfTheirLevel) {
  PushAll(*filter_, {Make(Priority::kLow, 1), Make(Priority::kLow, 2), Make(Priority::kHigh, 3)});
  PopBatch first;
  ASSERT_TRUE(filter_->Pop({.max_events = 2, .max_bytes = 1 << 20}, nanoseconds(0), &first).ok());
  ASSERT_EQ(first.size(), 2u);  // high 3, low 1
  // More arrive while the sink fails.
  PushAll(*filter_, {Make(Priority::kLow, 4), Make(Priority::kHigh, 5)});
  ASSERT_TRUE(filter_->Return(&first).ok());
  FilterStats s = filter_->Stats();
  EXPECT_EQ(s.levels[1].returned, 1u);
  EXPECT_EQ(s.levels[3].returned, 1u);
  EXPECT_EQ(s.levels[3].queued_events, 3u);
  EXPECT_EQ(s.InFlight(), 0u);
  EXPECT_TRUE(s.LedgerBalanced());

  EXPECT_EQ(PopAckIds(*filter_), (std::vector<uint64_t>{3, 5, 1, 2, 4}));
  s = filter_->Stats();
  EXPECT_EQ(s.Delivered(), 5u);
  EXPECT_EQ(s.Accepted(), 5u);
  EXPECT_EQ(s.used_bytes, 0u);
}

TEST_F(BackpressureFilterTest, WatermarksSwitchStateWithHysteresis) {
  const FilterStats empty = filter_->Stats();
  EXPECT_EQ(empty.state, FilterState::kNormal);
  EXPECT_EQ(empty.high_watermark_bytes, 64u * 1024 * 8 / 10);
  EXPECT_EQ(empty.low_watermark_bytes, 64u * 1024 * 6 / 10);

  const size_t record = record::RecordSize(Make(Priority::kLow, 0));
  uint64_t id = 0;
  while (filter_->Stats().used_bytes + record < empty.high_watermark_bytes) {
    PushOne(Make(Priority::kLow, id++));
  }
  EXPECT_EQ(filter_->Stats().state, FilterState::kNormal);
  PushOne(Make(Priority::kLow, id++));
  FilterStats s = filter_->Stats();
  EXPECT_EQ(s.state, FilterState::kPressured);
  EXPECT_EQ(s.pressured_transitions, 1u);

  // Deliver until just above the low watermark: still pressured.
  while (filter_->Stats().used_bytes - record > empty.low_watermark_bytes) {
    ASSERT_EQ(PopAckIds(*filter_, {.max_events = 1, .max_bytes = 1 << 20}).size(), 1u);
  }
  EXPECT_EQ(filter_->Stats().state, FilterState::kPressured);
  ASSERT_EQ(PopAckIds(*filter_, {.max_events = 1, .max_bytes = 1 << 20}).size(), 1u);
  s = filter_->Stats();
  EXPECT_EQ(s.state, FilterState::kNormal);
  EXPECT_EQ(s.pressured_transitions, 1u);
}

TEST_F(BackpressureFilterTest, OldestQueuedAgeFollowsTheHeadOfEachLevel) {
  PushOne(Make(Priority::kHigh, 1));
  clock_.AdvanceMs(250);
  PushOne(Make(Priority::kHigh, 2));
  PushOne(Make(Priority::kLow, 3));
  clock_.AdvanceMs(100);
  FilterStats s = filter_->Stats();
  EXPECT_EQ(s.levels[1].oldest_queued_age_ms, 350);
  EXPECT_EQ(s.levels[3].oldest_queued_age_ms, 100);
  EXPECT_EQ(s.levels[0].oldest_queued_age_ms, 0);
  PopAckIds(*filter_, {.max_events = 1, .max_bytes = 1 << 20});
  EXPECT_EQ(filter_->Stats().levels[1].oldest_queued_age_ms, 100);
}

TEST_F(BackpressureFilterTest, ShutdownRefusesPushesAndDrainsTheRest) {
  PushAll(*filter_, {Make(Priority::kNormal, 1)});
  filter_->Shutdown();
  EXPECT_EQ(PushOne(Make(Priority::kCritical, 2)).reason, RefuseReason::kShuttingDown);
  PopBatch batch;
  ASSERT_TRUE(filter_->Pop({}, nanoseconds(0), &batch).ok());
  ASSERT_EQ(batch.size(), 1u);
  ASSERT_TRUE(filter_->Ack(&batch).ok());
  EXPECT_EQ(filter_->Pop({}, std::chrono::seconds(30), &batch).code(),
            Status::Code::kUnavailable);
  EXPECT_TRUE(filter_->Stats().LedgerBalanced());
}

}  // namespace
}  // namespace gridgate::filter
