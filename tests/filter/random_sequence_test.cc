// Long random sequences of push, pop, ack and return, checked step by step
// against a reference model of what backpressure_filter.h promises: the byte
// budget and each level's share of it, strict priority, FIFO within a level,
// returned events back at the head of their level in sequence order, and a
// ledger in which every accepted event is queued, in flight or delivered.
//
// Each run prints its seed (SCOPED_TRACE); GRIDGATE_RANDOM_SEED=<n> in the
// environment replays one seed in place of the fixed list.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "event/record_codec.h"
#include "event/record_format.h"
#include "fakes/event_factory.h"
#include "fakes/fake_clock.h"
#include "filter/backpressure_filter.h"

namespace gridgate::filter {
namespace {

using gridgate::testing::EventFactory;
using gridgate::testing::FakeClock;
using gridgate::testing::PayloadId;
using std::chrono::nanoseconds;

#ifdef GRIDGATE_SANITIZED
constexpr int kSteps = 2'000;
#else
constexpr int kSteps = 10'000;
#endif

constexpr size_t kBudgetBytes = size_t{256} << 10;
constexpr size_t kMaxBatchesInFlight = 2;

// A meter id one byte longer than the record format holds: refused as invalid.
const std::string kTooLongMeterId(record::kMaxMeterIdBytes + 1, 'm');

size_t Floor(size_t total, double fraction) {
  return static_cast<size_t>(std::floor(static_cast<double>(total) * fraction));
}

// The seeds to run: GRIDGATE_RANDOM_SEED alone when set, else a fixed list.
std::vector<uint64_t> Seeds() {
  // Read before any thread starts.
  const char* env = std::getenv("GRIDGATE_RANDOM_SEED");  // NOLINT(concurrency-mt-unsafe)
  if (env != nullptr && *env != '\0') {
    return {std::strtoull(env, nullptr, 10)};
  }
  // 128 once found the slab cap too low for records that waste slab tails.
  return {1, 2, 3, 128, 0x5eed'cafe'f00dULL};
}

FilterOptions SmallBudgetOptions(FakeClock* clock, size_t slab_bytes) {
  FilterOptions o;
  o.budget_bytes = kBudgetBytes;
  o.slab_bytes = slab_bytes;
  o.max_event_bytes = 2048;
  o.release_quiet_period_ms = 200;
  o.clock = clock;
  return o;
}

// Slabs the pool may map at most: the budget rounded up to whole slabs, plus a
// partly read head slab and a partly written tail slab on every level.
// The pool's cap: the budget in slabs filled to their worst (a record never
// straddles slabs, so each may waste up to one record less a byte), plus a
// head and a tail slab per level.
uint64_t SlabCapBytes(const FilterOptions& o) {
  const size_t min_fill = o.slab_bytes - o.MaxRecordBytes() + 1;
  const size_t slabs = (o.budget_bytes + min_fill - 1) / min_fill + 2 * kNumPriorities;
  return slabs * o.slab_bytes;
}

// What the filter should hold, derived from its header alone: per level the
// ids queued in pop order and the counters of the ledger (the test keeps the
// ids of each batch in flight). Ids are handed out in increasing order, so a level's queue is also
// in increasing sequence order.
class ReferenceModel {
 public:
  struct Info {
    Priority level = Priority::kNormal;
    size_t record_bytes = 0;
    size_t payload_bytes = 0;
    Seq seq;
  };

  explicit ReferenceModel(const FilterOptions& o)
      : options_(o),
        low_watermark_(Floor(o.budget_bytes, o.low_watermark_fraction)),
        high_watermark_(Floor(o.budget_bytes, o.high_watermark_fraction)) {
    const size_t critical_reserve = Floor(o.budget_bytes, o.critical_reserve_fraction);
    const size_t high_reserve = Floor(o.budget_bytes, o.high_reserve_fraction);
    limits_ = {o.budget_bytes, o.budget_bytes - critical_reserve,
               o.budget_bytes - critical_reserve - high_reserve,
               o.budget_bytes - critical_reserve - high_reserve};
  }

  size_t LimitFor(Priority p) const { return limits_[LevelIndex(p)]; }
  size_t used_bytes() const { return used_bytes_; }
  size_t QueuedEvents() const {
    size_t n = 0;
    for (const auto& q : queued_) {
      n += q.size();
    }
    return n;
  }
  const Info& info(uint64_t id) const { return info_.at(id); }

  // The reason Push must refuse `event` for; kNone when it must be queued.
  RefuseReason Expect(const Event& event) const {
    if (!record::CheckEncodable(event).ok()) {
      return RefuseReason::kInvalid;
    }
    const size_t size = record::RecordSize(event);
    if (event.payload.size() > options_.max_event_bytes || size > LimitFor(event.priority)) {
      return RefuseReason::kTooLarge;
    }
    if (used_bytes_ + size > LimitFor(event.priority)) {
      return RefuseReason::kMemoryFull;
    }
    return RefuseReason::kNone;
  }

  void Queued(uint64_t id, const Event& event, Seq seq) {
    const size_t size = record::RecordSize(event);
    info_[id] = Info{event.priority, size, event.payload.size(), seq};
    LevelModel& l = levels_[LevelIndex(event.priority)];
    queued_[LevelIndex(event.priority)].push_back(id);
    l.queued_bytes += size;
    ++l.accepted;
    used_bytes_ += size;
  }

  void Refused(const Event& event, RefuseReason reason) {
    ++refused_by_reason_[static_cast<size_t>(reason)];
    if (IsValidPriority(static_cast<uint8_t>(event.priority))) {
      ++levels_[LevelIndex(event.priority)].refused;
    }
  }

  // The ids a Pop with `limits` hands out, in order, taken off the queues.
  std::vector<uint64_t> Pop(const PopLimits& limits) {
    std::vector<uint64_t> ids;
    size_t bytes = 0;
    for (Priority p : kAllPriorities) {
      std::deque<uint64_t>& queue = queued_[LevelIndex(p)];
      LevelModel& l = levels_[LevelIndex(p)];
      while (!queue.empty() && ids.size() < limits.max_events) {
        const size_t size = info_.at(queue.front()).record_bytes;
        if (!ids.empty() && bytes + size > limits.max_bytes) {
          break;
        }
        ids.push_back(queue.front());
        queue.pop_front();
        bytes += size;
        l.queued_bytes -= size;
        ++l.in_flight_events;
        l.in_flight_bytes += size;
      }
      // Strict priority: nothing of a lower level while this one has events.
      if (!queue.empty() || ids.size() == limits.max_events) {
        break;
      }
    }
    return ids;
  }

  void Acked(const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) {
      const Info& i = info_.at(id);
      LevelModel& l = levels_[LevelIndex(i.level)];
      --l.in_flight_events;
      l.in_flight_bytes -= i.record_bytes;
      ++l.delivered;
      used_bytes_ -= i.record_bytes;
      ++delivered_count_[id];
    }
  }

  // Returned events go back to the head of their level, ahead of everything
  // queued after them, in sequence order also among earlier returns.
  void Returned(const std::vector<uint64_t>& ids) {
    std::array<std::vector<uint64_t>, kNumPriorities> back;
    for (uint64_t id : ids) {
      const Info& i = info_.at(id);
      LevelModel& l = levels_[LevelIndex(i.level)];
      --l.in_flight_events;
      l.in_flight_bytes -= i.record_bytes;
      l.queued_bytes += i.record_bytes;
      ++l.returned;
      back[LevelIndex(i.level)].push_back(id);
    }
    for (size_t level = 0; level < kNumPriorities; ++level) {
      std::vector<uint64_t> merged;
      std::merge(back[level].begin(), back[level].end(), queued_[level].begin(),
                 queued_[level].end(), std::back_inserter(merged),
                 [this](uint64_t a, uint64_t b) { return info_.at(a).seq < info_.at(b).seq; });
      queued_[level].assign(merged.begin(), merged.end());
    }
  }

  // The hysteresis of the watermarks, updated where the filter updates it:
  // after every push and every ack.
  void UpdatePressure() {
    if (!pressured_ && used_bytes_ >= high_watermark_) {
      pressured_ = true;
      ++pressured_transitions_;
    } else if (pressured_ && used_bytes_ <= low_watermark_) {
      pressured_ = false;
    }
  }

  // Every field of `s` that the model predicts.
  void ExpectMatches(const FilterStats& s) const {
    ASSERT_LE(s.used_bytes, s.budget_bytes);
    ASSERT_LE(s.peak_used_bytes, s.budget_bytes);
    ASSERT_GE(s.peak_used_bytes, s.used_bytes);
    ASSERT_TRUE(s.LedgerBalanced());
    ASSERT_EQ(s.used_bytes, used_bytes_);
    ASSERT_LE(s.mapped_bytes, SlabCapBytes(options_));
    for (Priority p : kAllPriorities) {
      SCOPED_TRACE(PriorityName(p));
      const LevelStats& got = s.levels[LevelIndex(p)];
      const LevelModel& want = levels_[LevelIndex(p)];
      ASSERT_EQ(got.queued_events, queued_[LevelIndex(p)].size());
      ASSERT_EQ(got.queued_bytes, want.queued_bytes);
      ASSERT_EQ(got.in_flight_events, want.in_flight_events);
      ASSERT_EQ(got.in_flight_bytes, want.in_flight_bytes);
      ASSERT_EQ(got.accepted, want.accepted);
      ASSERT_EQ(got.refused, want.refused);
      ASSERT_EQ(got.delivered, want.delivered);
      ASSERT_EQ(got.returned, want.returned);
    }
    for (size_t r = 0; r < kNumRefuseReasons; ++r) {
      ASSERT_EQ(s.refused_by_reason[r], refused_by_reason_[r])
          << RefuseReasonName(static_cast<RefuseReason>(r));
    }
    ASSERT_EQ(s.state, pressured_ ? FilterState::kPressured : FilterState::kNormal);
    ASSERT_EQ(s.pressured_transitions, pressured_transitions_);
  }

  // Every accepted event was delivered exactly once, and nothing else was.
  void ExpectEachAcceptedDeliveredOnce() const {
    for (const auto& [id, info] : info_) {
      auto it = delivered_count_.find(id);
      ASSERT_NE(it, delivered_count_.end()) << "id " << id << " was never delivered";
      ASSERT_EQ(it->second, 1) << "id " << id;
    }
    ASSERT_EQ(delivered_count_.size(), info_.size());
  }

  uint64_t accepted() const { return info_.size(); }
  uint64_t ReturnedTotal() const {
    uint64_t n = 0;
    for (const LevelModel& l : levels_) {
      n += l.returned;
    }
    return n;
  }
  uint64_t RefusedCount(RefuseReason r) const { return refused_by_reason_[static_cast<size_t>(r)]; }

 private:
  struct LevelModel {
    uint64_t queued_bytes = 0;
    uint64_t in_flight_events = 0;
    uint64_t in_flight_bytes = 0;
    uint64_t accepted = 0;
    uint64_t refused = 0;
    uint64_t delivered = 0;
    uint64_t returned = 0;
  };

  const FilterOptions options_;
  const size_t low_watermark_;
  const size_t high_watermark_;
  std::array<size_t, kNumPriorities> limits_{};
  std::array<std::deque<uint64_t>, kNumPriorities> queued_;
  std::array<LevelModel, kNumPriorities> levels_{};
  std::array<uint64_t, kNumRefuseReasons> refused_by_reason_{};
  std::unordered_map<uint64_t, Info> info_;  // accepted events only
  std::unordered_map<uint64_t, int> delivered_count_;
  size_t used_bytes_ = 0;
  bool pressured_ = false;
  uint64_t pressured_transitions_ = 0;
};

// Drives one filter and its model with one random generator.
class RandomSequenceTest : public ::testing::TestWithParam<size_t> {
 protected:
  void Start(uint64_t seed) {
    rng_.seed(seed);
    next_id_ = 1;
    last_seq_ = Seq{};
    for (size_t slot = 0; slot < kMaxBatchesInFlight; ++slot) {
      batches_[slot] = PopBatch();
      expected_[slot].clear();
    }
    options_ = SmallBudgetOptions(&clock_, GetParam());
    auto filter = BackpressureFilter::Create(options_);
    ASSERT_TRUE(filter.ok()) << filter.status().ToString();
    filter_ = std::move(filter).value();
    model_ = std::make_unique<ReferenceModel>(options_);
    const FilterStats s = filter_->Stats();
    // The model's level limits are the filter's, as it reports them.
    ASSERT_EQ(s.budget_bytes, options_.budget_bytes);
    ASSERT_EQ(model_->LimitFor(Priority::kHigh), s.budget_bytes - s.critical_reserve_bytes);
    ASSERT_EQ(model_->LimitFor(Priority::kNormal),
              s.budget_bytes - s.critical_reserve_bytes - s.high_reserve_bytes);
  }

  size_t Uniform(size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // One batch of 1..64 events of random levels and payload sizes, a few of
  // them too large or not encodable.
  void Push() {
    factory_.Clear();
    std::vector<Event> events(Uniform(1, 64));
    std::vector<uint64_t> ids(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      ids[i] = next_id_++;
      const auto level = static_cast<Priority>(Uniform(0, kNumPriorities - 1));
      size_t payload_bytes = Uniform(1, options_.max_event_bytes);
      if (Chance(0.03)) {
        payload_bytes = options_.max_event_bytes + Uniform(1, 100);
      }
      events[i] = factory_.Make(level, ids[i], payload_bytes, clock_.UnixNs());
      if (Chance(0.01)) {
        events[i].meter_id = kTooLongMeterId;
      }
    }
    std::vector<PushOutcome> outcomes(events.size());
    ASSERT_TRUE(filter_->Push(events, outcomes).ok());
    for (size_t i = 0; i < events.size(); ++i) {
      const RefuseReason want = model_->Expect(events[i]);
      const PushOutcome& got = outcomes[i];
      const std::string where = "event " + std::to_string(i) + " of " +
                                std::to_string(events.size()) + ", id " + std::to_string(ids[i]);
      if (want == RefuseReason::kNone) {
        ASSERT_EQ(got.result, PushResult::kQueued)
            << where << " refused (" << RefuseReasonName(got.reason) << ") with "
            << model_->used_bytes() << " bytes used, record of " << record::RecordSize(events[i])
            << " bytes, level limit " << model_->LimitFor(events[i].priority);
        ASSERT_EQ(got.reason, RefuseReason::kNone) << where;
        ASSERT_GT(got.seq.value, last_seq_.value) << where;
        last_seq_ = got.seq;
        model_->Queued(ids[i], events[i], got.seq);
      } else {
        ASSERT_EQ(got.result, PushResult::kRefused) << where;
        ASSERT_EQ(got.reason, want)
            << where << ": " << RefuseReasonName(got.reason) << ", want " << RefuseReasonName(want);
        if (IsRetryable(want)) {
          ASSERT_GE(got.retry_after_ms, options_.retry_after_min_ms) << where;
          ASSERT_LE(got.retry_after_ms, options_.retry_after_max_ms) << where;
        } else {
          ASSERT_EQ(got.retry_after_ms, 0u) << where;
        }
        model_->Refused(events[i], want);
      }
    }
    model_->UpdatePressure();
  }

  PopLimits RandomLimits() {
    PopLimits limits;
    const size_t kind = Uniform(0, 9);
    limits.max_events = kind < 3 ? Uniform(1, 8) : kind < 8 ? Uniform(1, 64) : Uniform(1, 1024);
    // Some limits below one record: at least one event comes out all the same.
    limits.max_bytes = Chance(0.2) ? Uniform(1, 4096) : Uniform(4096, 65536);
    return limits;
  }

  // Pops into a free batch slot and checks the batch event by event.
  void Pop() {
    size_t slot = 0;
    while (slot < kMaxBatchesInFlight && batches_[slot].in_flight()) {
      ++slot;
    }
    ASSERT_LT(slot, kMaxBatchesInFlight);
    PopBatch& batch = batches_[slot];
    const PopLimits limits = RandomLimits();
    ASSERT_NO_FATAL_FAILURE(PopInto(limits, &batch, &expected_[slot]));
  }

  void PopInto(const PopLimits& limits, PopBatch* batch, std::vector<uint64_t>* expected) {
    const bool anything_queued = model_->QueuedEvents() > 0;
    ASSERT_TRUE(filter_->Pop(limits, nanoseconds(0), batch).ok());
    *expected = model_->Pop(limits);
    ASSERT_EQ(batch->size(), expected->size())
        << "limits " << limits.max_events << " events, " << limits.max_bytes << " bytes";
    ASSERT_EQ(batch->in_flight(), anything_queued);
    if (batch->in_flight()) {
      for (const PopBatch& other : batches_) {
        if (&other != batch && other.in_flight()) {
          ASSERT_NE(other.id(), batch->id());
        }
      }
    }
    std::array<size_t, kNumPriorities> events_of{};
    size_t bytes = 0;
    for (size_t i = 0; i < batch->size(); ++i) {
      const Event e = batch->event(i);
      const uint64_t id = (*expected)[i];
      const ReferenceModel::Info& info = model_->info(id);
      ASSERT_EQ(PayloadId(e.payload), id) << "event " << i << " of " << batch->size();
      ASSERT_EQ(e.priority, info.level);
      ASSERT_EQ(e.seq.value, info.seq.value);
      ASSERT_EQ(e.payload.size(), info.payload_bytes);
      ASSERT_EQ(e.meter_id, "1ND785727916NMD06");
      ASSERT_EQ(record::RecordSize(e), info.record_bytes);
      ++events_of[LevelIndex(e.priority)];
      bytes += info.record_bytes;
    }
    ASSERT_EQ(batch->bytes(), bytes);
    for (Priority p : kAllPriorities) {
      ASSERT_EQ(batch->events_of(p), events_of[LevelIndex(p)]);
    }
  }

  // Acks or returns one of the batches in flight, picked at random.
  void Settle() {
    std::vector<size_t> busy;
    for (size_t slot = 0; slot < kMaxBatchesInFlight; ++slot) {
      if (batches_[slot].in_flight()) {
        busy.push_back(slot);
      }
    }
    ASSERT_FALSE(busy.empty());
    const size_t slot = busy[Uniform(0, busy.size() - 1)];
    ASSERT_NO_FATAL_FAILURE(SettleSlot(slot, /*ack=*/Chance(0.75)));
  }

  void SettleSlot(size_t slot, bool ack) {
    PopBatch& batch = batches_[slot];
    if (ack) {
      ASSERT_TRUE(filter_->Ack(&batch).ok());
      model_->Acked(expected_[slot]);
      model_->UpdatePressure();
    } else {
      ASSERT_TRUE(filter_->Return(&batch).ok());
      model_->Returned(expected_[slot]);
    }
    ASSERT_FALSE(batch.in_flight());
    expected_[slot].clear();
    // A batch settles once: a second ack or return changes nothing.
    ASSERT_EQ(filter_->Ack(&batch).code(), Status::Code::kInvalidArgument);
    ASSERT_EQ(filter_->Return(&batch).code(), Status::Code::kInvalidArgument);
  }

  // A pop into a batch still in flight is refused and leaves it in flight.
  void PopIntoBusyBatch() {
    for (PopBatch& batch : batches_) {
      if (batch.in_flight()) {
        const uint64_t id = batch.id();
        const size_t size = batch.size();
        ASSERT_EQ(filter_->Pop(PopLimits{}, nanoseconds(0), &batch).code(),
                  Status::Code::kInvalidArgument);
        ASSERT_EQ(batch.id(), id);
        ASSERT_EQ(batch.size(), size);
        return;
      }
    }
  }

  size_t InFlightBatches() const {
    return static_cast<size_t>(std::count_if(batches_.begin(), batches_.end(),
                                             [](const PopBatch& b) { return b.in_flight(); }));
  }

  // One random step. Storms (mostly pushes) alternate with lulls (mostly pops)
  // so that the sequence runs into the budget and empties out again.
  void Step(bool storm) {
    const double push_share = storm ? 0.55 : 0.2;
    const double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (r < push_share) {
      ASSERT_NO_FATAL_FAILURE(Push());
    } else if (r < 0.97) {
      const bool can_pop = InFlightBatches() < kMaxBatchesInFlight;
      const bool can_settle = InFlightBatches() > 0;
      if (can_pop && (!can_settle || Chance(0.5))) {
        ASSERT_NO_FATAL_FAILURE(Pop());
      } else {
        ASSERT_NO_FATAL_FAILURE(Settle());
      }
    } else if (r < 0.98) {
      ASSERT_NO_FATAL_FAILURE(PopIntoBusyBatch());
    } else {
      // Time passes; idle slabs may be unmapped, which must change nothing the
      // model sees.
      clock_.AdvanceMs(static_cast<int64_t>(Uniform(0, 300)));
      filter_->Maintain();
    }
    const FilterStats s = filter_->Stats();
    ASSERT_NO_FATAL_FAILURE(model_->ExpectMatches(s));
    ASSERT_EQ(s.batches_in_flight, InFlightBatches());
  }

  // Settles what is in flight, then pops and acks until nothing is left.
  void Drain() {
    for (size_t slot = 0; slot < kMaxBatchesInFlight; ++slot) {
      if (batches_[slot].in_flight()) {
        ASSERT_NO_FATAL_FAILURE(SettleSlot(slot, /*ack=*/true));
      }
    }
    while (model_->QueuedEvents() > 0) {
      ASSERT_NO_FATAL_FAILURE(PopInto(PopLimits{}, &batches_[0], &expected_[0]));
      ASSERT_NO_FATAL_FAILURE(SettleSlot(0, /*ack=*/true));
      ASSERT_NO_FATAL_FAILURE(model_->ExpectMatches(filter_->Stats()));
    }
    ASSERT_TRUE(filter_->Pop(PopLimits{}, nanoseconds(0), &batches_[0]).ok());
    ASSERT_TRUE(batches_[0].empty());
  }

  FakeClock clock_;
  EventFactory factory_;
  FilterOptions options_;
  std::unique_ptr<BackpressureFilter> filter_;
  std::unique_ptr<ReferenceModel> model_;
  std::mt19937_64 rng_;
  std::array<PopBatch, kMaxBatchesInFlight> batches_;
  std::array<std::vector<uint64_t>, kMaxBatchesInFlight> expected_;
  uint64_t next_id_ = 1;
  Seq last_seq_;
};

TEST_P(RandomSequenceTest, MatchesReferenceModelAndDeliversEachAcceptedEventOnce) {
  for (uint64_t seed : Seeds()) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (GRIDGATE_RANDOM_SEED=" + std::to_string(seed) +
                 " replays it)");
    ASSERT_NO_FATAL_FAILURE(Start(seed));
    bool storm = true;
    for (int step = 0; step < kSteps; ++step) {
      if (step % 250 == 0) {
        storm = Chance(0.5);
      }
      SCOPED_TRACE("step " + std::to_string(step));
      ASSERT_NO_FATAL_FAILURE(Step(storm));
    }
    ASSERT_NO_FATAL_FAILURE(Drain());
    ASSERT_NO_FATAL_FAILURE(model_->ExpectEachAcceptedDeliveredOnce());
    // The sequence reached every kind of step it is meant to check.
    EXPECT_GT(model_->accepted(), 0u);
    EXPECT_GT(model_->ReturnedTotal(), 0u);
    EXPECT_GT(model_->RefusedCount(RefuseReason::kMemoryFull), 0u);
    EXPECT_GT(model_->RefusedCount(RefuseReason::kTooLarge), 0u);
    EXPECT_GT(model_->RefusedCount(RefuseReason::kInvalid), 0u);
    const FilterStats s = filter_->Stats();
    EXPECT_EQ(s.used_bytes, 0u);
    EXPECT_EQ(s.Delivered(), model_->accepted());
    EXPECT_EQ(s.batches_in_flight, 0u);
    EXPECT_GT(s.pressured_transitions, 0u);
    // Empty for a quiet period: every slab goes back to the OS.
    clock_.AdvanceMs(options_.release_quiet_period_ms);
    filter_->Maintain();
    EXPECT_EQ(filter_->Stats().mapped_bytes, 0u);
    EXPECT_EQ(filter_->Stats().slabs_unmapped_total, filter_->Stats().slabs_mapped_total);
  }
}

INSTANTIATE_TEST_SUITE_P(SlabSizes, RandomSequenceTest, ::testing::Values(8192, 16384),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return "Slab" + std::to_string(info.param);
                         });

// Pushes only, of one level and one record size, until the first refusal.
// Fails the test where a kMemoryFull refusal comes while the level limit
// still has room for the record.
class MemoryFullTest : public ::testing::Test {
 protected:
  void Make(size_t budget_bytes, size_t slab_bytes, size_t max_event_bytes) {
    options_.budget_bytes = budget_bytes;
    options_.slab_bytes = slab_bytes;
    options_.max_event_bytes = max_event_bytes;
    options_.clock = &clock_;
    auto filter = BackpressureFilter::Create(options_);
    ASSERT_TRUE(filter.ok()) << filter.status().ToString();
    filter_ = std::move(filter).value();
  }

  // Checks one outcome against the level limit; used is the byte count before.
  void CheckOutcome(const Event& e, const PushOutcome& o, size_t used_before) {
    const FilterStats s = filter_->Stats();
    const size_t limit = e.priority == Priority::kCritical ? s.budget_bytes
                         : e.priority == Priority::kHigh
                             ? s.budget_bytes - s.critical_reserve_bytes
                             : s.budget_bytes - s.critical_reserve_bytes - s.high_reserve_bytes;
    const size_t size = record::RecordSize(e);
    if (o.result == PushResult::kRefused && o.reason == RefuseReason::kMemoryFull) {
      ASSERT_GT(used_before + size, limit)
          << "kMemoryFull with " << used_before << " bytes used, a record of " << size
          << " bytes and a " << PriorityName(e.priority) << " limit of " << limit << "; "
          << s.slabs_mapped << " slabs mapped (" << s.mapped_bytes << " bytes)";
    }
    if (o.result == PushResult::kQueued) {
      ASSERT_LE(used_before + size, limit);
    }
    ASSERT_LE(s.mapped_bytes, SlabCapBytes(options_));
    ASSERT_LE(s.used_bytes, s.budget_bytes);
  }

  FakeClock clock_;
  EventFactory factory_;
  FilterOptions options_;
  std::unique_ptr<BackpressureFilter> filter_;
};

// Storms of large records of random levels, each pushed until even a critical
// event is refused, then a random share drained: the record sizes leave
// awkward gaps at the ends of slabs. Every kMemoryFull refusal must be one the
// level limit explains, and the mapped memory stays under the pool's cap.
TEST_F(MemoryFullTest, RefusedOnlyWhenLevelLimitIsExceededAndMappedStaysUnderSlabCap) {
  for (uint64_t seed : Seeds()) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    for (size_t slab_bytes : {size_t{8192}, size_t{16384}}) {
      SCOPED_TRACE("slab_bytes " + std::to_string(slab_bytes));
      ASSERT_NO_FATAL_FAILURE(Make(kBudgetBytes, slab_bytes, 2048));
      std::mt19937_64 rng(seed);
      auto uniform = [&rng](size_t lo, size_t hi) {
        return std::uniform_int_distribution<size_t>(lo, hi)(rng);
      };
      uint64_t id = 0;
      PopBatch batch;
      for (int round = 0; round < kSteps / 100; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        bool critical_refused = false;
        for (int push = 0; push < 10'000 && !critical_refused; ++push) {
          factory_.Clear();
          const auto level = static_cast<Priority>(uniform(0, kNumPriorities - 1));
          // Mostly records just over a quarter of an 8 KiB slab (payloads of
          // 1968 bytes and more), three to a slab with a gap of a fifth.
          const size_t payload = uniform(0, 3) == 0 ? uniform(1, 2048) : uniform(1968, 2048);
          const Event e = factory_.Make(level, ++id, payload);
          const size_t used_before = filter_->Stats().used_bytes;
          PushOutcome o;
          ASSERT_TRUE(filter_->Push({&e, 1}, {&o, 1}).ok());
          ASSERT_NO_FATAL_FAILURE(CheckOutcome(e, o, used_before));
          critical_refused = level == Priority::kCritical && o.result == PushResult::kRefused;
        }
        ASSERT_TRUE(critical_refused);
        // Drain a random share, some of it returned first.
        const size_t queued = filter_->Stats().Queued();
        size_t popped = 0;
        const size_t target = uniform(0, queued);
        while (popped < target) {
          PopLimits limits;
          limits.max_events = uniform(1, 16);
          ASSERT_TRUE(filter_->Pop(limits, nanoseconds(0), &batch).ok());
          ASSERT_FALSE(batch.empty());
          if (uniform(0, 4) == 0) {
            ASSERT_TRUE(filter_->Return(&batch).ok());
          } else {
            popped += batch.size();
            ASSERT_TRUE(filter_->Ack(&batch).ok());
          }
        }
      }
    }
  }
}

// The worst case for slab packing: records just over half a slab, one to a
// slab. The level's share of the budget, not the slab count, must decide when
// the level is full.
TEST_F(MemoryFullTest, OneRecordPerSlabStillFillsLevelToItsLimit) {
  ASSERT_NO_FATAL_FAILURE(Make(kBudgetBytes, 8192, 4096));
  const Event probe = factory_.Make(Priority::kNormal, 0, 4096);
  const size_t record_bytes = record::RecordSize(probe);
  ASSERT_GT(record_bytes * 2, options_.slab_bytes);
  const size_t limit = filter_->Stats().budget_bytes - filter_->Stats().critical_reserve_bytes -
                       filter_->Stats().high_reserve_bytes;
  const size_t want_queued = limit / record_bytes;
  size_t queued = 0;
  for (uint64_t id = 1;; ++id) {
    const Event e = factory_.Make(Priority::kNormal, id, 4096);
    const size_t used_before = filter_->Stats().used_bytes;
    PushOutcome o;
    ASSERT_TRUE(filter_->Push({&e, 1}, {&o, 1}).ok());
    ASSERT_NO_FATAL_FAILURE(CheckOutcome(e, o, used_before));
    if (o.result != PushResult::kQueued) {
      EXPECT_EQ(o.reason, RefuseReason::kMemoryFull);
      break;
    }
    ++queued;
  }
  EXPECT_EQ(queued, want_queued);
}

}  // namespace
}  // namespace gridgate::filter
