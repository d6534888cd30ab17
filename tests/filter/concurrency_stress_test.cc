// Producers and one consumer on real threads, for ThreadSanitizer and for the
// ledger under contention: nothing lost, nothing delivered twice, FIFO per
// producer and level; and the consumer's wait in Pop woken by a push and by
// Shutdown.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fakes/event_factory.h"
#include "fakes/fake_clock.h"
#include "filter/backpressure_filter.h"

namespace gridgate::filter {
namespace {

using gridgate::testing::EventFactory;
using gridgate::testing::FakeClock;
using gridgate::testing::PayloadId;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr int kProducers = 4;
#ifdef GRIDGATE_SANITIZED
constexpr uint64_t kEventsPerProducer = 5'000;
#else
constexpr uint64_t kEventsPerProducer = 20'000;
#endif
// Payload ids: producer * kIdStride + index within the producer.
constexpr uint64_t kIdStride = 1'000'000;
constexpr size_t kMaxPushBatch = 64;
constexpr uint64_t kReturnEveryNthBatch = 7;

std::unique_ptr<BackpressureFilter> MakeFilter(const FilterOptions& o) {
  auto filter = BackpressureFilter::Create(o);
  EXPECT_TRUE(filter.ok()) << filter.status().ToString();
  return filter.ok() ? std::move(filter).value() : nullptr;
}

// A budget of a few hundred events, so that producers outrun it and must
// retry what was refused.
FilterOptions StressOptions(Clock* clock) {
  FilterOptions o;
  o.budget_bytes = size_t{64} << 10;
  o.slab_bytes = 8192;
  o.max_event_bytes = 1024;
  o.clock = clock;
  return o;
}

struct ProducerResult {
  uint64_t memory_full_refusals = 0;
  uint64_t pushes = 0;
};

// Pushes kEventsPerProducer events in batches of 1..64 with random levels,
// re-pushing only the refused ones until each batch is taken whole. Every
// event has the same payload size, so a refusal in a batch is followed by
// refusals of every later event of its level in that batch (used memory only
// grows during one push): re-pushing them keeps this producer's FIFO per level.
// Gives up early once `abort` is set (the consumer failed and stopped).
void Produce(BackpressureFilter* filter, int producer, std::atomic<int>* producers_refused,
             const std::atomic<bool>* abort, ProducerResult* result) {
  EventFactory factory;
  std::mt19937_64 rng(static_cast<uint64_t>(producer) + 1);
  std::uniform_int_distribution<size_t> batch_size(1, kMaxPushBatch);
  std::uniform_int_distribution<int> level(0, kNumPriorities - 1);
  bool refused_once = false;
  uint64_t next = 0;
  std::vector<Event> pending;
  std::vector<Event> refused;
  std::vector<PushOutcome> outcomes;
  while (next < kEventsPerProducer) {
    factory.Clear();
    pending.clear();
    const uint64_t end = std::min<uint64_t>(next + batch_size(rng), kEventsPerProducer);
    for (; next < end; ++next) {
      pending.push_back(factory.Make(static_cast<Priority>(level(rng)),
                                     static_cast<uint64_t>(producer) * kIdStride + next, 160));
    }
    while (!pending.empty() && !abort->load()) {
      outcomes.assign(pending.size(), PushOutcome{});
      const Status s = filter->Push(pending, outcomes);
      ++result->pushes;
      if (!s.ok()) {
        ADD_FAILURE() << "producer " << producer << ": " << s.ToString();
        return;
      }
      refused.clear();
      for (size_t i = 0; i < pending.size(); ++i) {
        if (outcomes[i].result == PushResult::kQueued) {
          continue;
        }
        if (outcomes[i].reason != RefuseReason::kMemoryFull) {
          ADD_FAILURE() << "producer " << producer << ": refused as "
                        << RefuseReasonName(outcomes[i].reason);
          return;
        }
        refused.push_back(pending[i]);
      }
      pending.swap(refused);
      if (!pending.empty()) {
        result->memory_full_refusals += pending.size();
        if (!refused_once) {
          refused_once = true;
          producers_refused->fetch_add(1);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
  }
}

TEST(ConcurrencyStressTest, ProducersRetryingRefusalsDeliverEveryEventOnceInProducerOrder) {
  FakeClock clock;
  const FilterOptions options = StressOptions(&clock);
  std::unique_ptr<BackpressureFilter> filter = MakeFilter(options);
  ASSERT_NE(filter, nullptr);
  constexpr uint64_t kTotal = kProducers * kEventsPerProducer;

  std::atomic<int> producers_refused{0};
  std::atomic<int> producers_done{0};
  std::atomic<bool> abort{false};
  std::array<ProducerResult, kProducers> results{};
  std::vector<std::thread> producers;
  producers.reserve(kProducers);
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      Produce(filter.get(), p, &producers_refused, &abort, &results[p]);
      producers_done.fetch_add(1);
    });
  }

  // Acked events in the order acked: payload id and level.
  std::vector<std::pair<uint64_t, Priority>> delivered;
  delivered.reserve(kTotal);
  uint64_t batches = 0;
  uint64_t returned_batches = 0;
  auto consume = [&] {
    // The consumer starts once every producer has been refused, so that the
    // refuse-and-retry path is taken whatever the scheduling.
    while (producers_refused.load() < kProducers && producers_done.load() < kProducers) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    PopBatch batch;
    PopLimits limits;
    limits.max_events = 64;
    while (delivered.size() < kTotal) {
      const Status s = filter->Pop(limits, milliseconds(20), &batch);
      if (!s.ok()) {
        ADD_FAILURE() << s.ToString();
        return;
      }
      if (batch.empty()) {
        const FilterStats stats = filter->Stats();
        if (producers_done.load() == kProducers && stats.Queued() == 0) {
          ADD_FAILURE() << "producers done, nothing queued, " << delivered.size() << " of "
                        << kTotal << " delivered";
          return;
        }
        continue;
      }
      ++batches;
      if (batches % kReturnEveryNthBatch == 0) {
        ++returned_batches;
        if (!filter->Return(&batch).ok()) {
          ADD_FAILURE() << "return of batch " << batches << " failed";
          return;
        }
        continue;
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        const Event e = batch.event(i);
        delivered.emplace_back(PayloadId(e.payload), e.priority);
      }
      if (!filter->Ack(&batch).ok()) {
        ADD_FAILURE() << "ack of batch " << batches << " failed";
        return;
      }
    }
  };
  std::thread consumer([&] {
    consume();
    // A consumer that stopped early lets the producers stop retrying.
    if (delivered.size() < kTotal) {
      abort.store(true);
    }
  });

  // Meanwhile snapshots must always balance and stay within the budget.
  std::atomic<bool> stop_monitor{false};
  uint64_t snapshots = 0;
  uint64_t unbalanced = 0;
  uint64_t over_budget = 0;
  std::thread monitor([&] {
    while (!stop_monitor.load()) {
      const FilterStats s = filter->Stats();
      ++snapshots;
      unbalanced += s.LedgerBalanced() ? 0 : 1;
      over_budget += s.used_bytes <= s.budget_bytes ? 0 : 1;
      filter->Maintain();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });

  for (std::thread& t : producers) {
    t.join();
  }
  consumer.join();
  stop_monitor.store(true);
  monitor.join();

  EXPECT_GT(snapshots, 0u);
  EXPECT_EQ(unbalanced, 0u);
  EXPECT_EQ(over_budget, 0u);
  uint64_t refusals = 0;
  for (int p = 0; p < kProducers; ++p) {
    EXPECT_GT(results[p].memory_full_refusals, 0u) << "producer " << p;
    refusals += results[p].memory_full_refusals;
  }
  EXPECT_GT(returned_batches, 0u);

  // Every id exactly once, and per producer and level in increasing order.
  ASSERT_EQ(delivered.size(), kTotal);
  std::vector<uint8_t> seen(kTotal, 0);
  std::array<std::array<int64_t, kNumPriorities>, kProducers> last{};
  for (auto& levels : last) {
    levels.fill(-1);
  }
  for (const auto& [id, level] : delivered) {
    const uint64_t producer = id / kIdStride;
    const uint64_t index = id % kIdStride;
    ASSERT_LT(producer, static_cast<uint64_t>(kProducers)) << "id " << id;
    ASSERT_LT(index, kEventsPerProducer) << "id " << id;
    ASSERT_EQ(seen[producer * kEventsPerProducer + index]++, 0) << "id " << id << " twice";
    int64_t& prev = last[producer][LevelIndex(level)];
    ASSERT_GT(static_cast<int64_t>(index), prev)
        << "producer " << producer << ", level " << PriorityName(level) << ": id " << id
        << " delivered after index " << prev;
    prev = static_cast<int64_t>(index);
  }

  const FilterStats s = filter->Stats();
  EXPECT_TRUE(s.LedgerBalanced());
  EXPECT_EQ(s.Accepted(), kTotal);
  EXPECT_EQ(s.Delivered(), kTotal);
  EXPECT_EQ(s.Queued(), 0u);
  EXPECT_EQ(s.InFlight(), 0u);
  EXPECT_EQ(s.used_bytes, 0u);
  EXPECT_EQ(s.batches_in_flight, 0u);
  EXPECT_EQ(s.refused_by_reason[static_cast<size_t>(RefuseReason::kMemoryFull)], refusals);
  EXPECT_EQ(s.Refused(), refusals);
  uint64_t returned_events = 0;
  for (const LevelStats& l : s.levels) {
    returned_events += l.returned;
  }
  EXPECT_GT(returned_events, 0u);
}

// A Pop with a long timeout in another thread; its status and batch once it
// returns, and whether it returned before its timeout ran out (woken, not
// timed out: a check of the wake-up, with the whole timeout as slack).
class BlockedConsumer {
 public:
  static constexpr auto kTimeout = std::chrono::seconds(30);

  explicit BlockedConsumer(BackpressureFilter* filter) {
    thread_ = std::thread([this, filter] {
      started_.store(true);
      const auto start = std::chrono::steady_clock::now();
      status_ = filter->Pop(PopLimits{}, kTimeout, &batch_);
      woken_before_timeout_ = std::chrono::steady_clock::now() - start < kTimeout;
    });
    while (!started_.load()) {
      std::this_thread::yield();
    }
    // Give it time to block in Pop. The test holds whether or not it has: a
    // push or shutdown before the wait must be seen by it too.
    std::this_thread::sleep_for(milliseconds(50));
  }

  void Join() { thread_.join(); }

  const Status& status() const { return status_; }
  PopBatch& batch() { return batch_; }
  bool woken_before_timeout() const { return woken_before_timeout_; }

 private:
  std::atomic<bool> started_{false};
  std::thread thread_;
  Status status_;
  PopBatch batch_;
  bool woken_before_timeout_ = false;
};

TEST(ConsumerWakeupTest, CriticalPushWakesBlockedConsumer) {
  FakeClock clock;
  std::unique_ptr<BackpressureFilter> filter = MakeFilter(StressOptions(&clock));
  ASSERT_NE(filter, nullptr);
  BlockedConsumer consumer(filter.get());

  EventFactory factory;
  const Event alert = factory.Make(Priority::kCritical, 42);
  PushOutcome outcome;
  ASSERT_TRUE(filter->Push({&alert, 1}, {&outcome, 1}).ok());
  ASSERT_EQ(outcome.result, PushResult::kQueued);
  consumer.Join();

  ASSERT_TRUE(consumer.status().ok()) << consumer.status().ToString();
  ASSERT_EQ(consumer.batch().size(), 1u);
  EXPECT_EQ(PayloadId(consumer.batch().event(0).payload), 42u);
  EXPECT_EQ(consumer.batch().event(0).priority, Priority::kCritical);
  EXPECT_EQ(consumer.batch().event(0).seq.value, outcome.seq.value);
  EXPECT_TRUE(consumer.woken_before_timeout());
  EXPECT_TRUE(filter->Ack(&consumer.batch()).ok());
}

TEST(ConsumerWakeupTest, ShutdownWakesWaitingConsumerWithUnavailable) {
  FakeClock clock;
  std::unique_ptr<BackpressureFilter> filter = MakeFilter(StressOptions(&clock));
  ASSERT_NE(filter, nullptr);
  BlockedConsumer consumer(filter.get());

  filter->Shutdown();
  consumer.Join();

  EXPECT_EQ(consumer.status().code(), Status::Code::kUnavailable) << consumer.status().ToString();
  EXPECT_TRUE(consumer.batch().empty());
  EXPECT_TRUE(consumer.woken_before_timeout());
}

TEST(ConsumerWakeupTest, AfterShutdownConsumerDrainsQueuedEventsThenGetsUnavailable) {
  FakeClock clock;
  std::unique_ptr<BackpressureFilter> filter = MakeFilter(StressOptions(&clock));
  ASSERT_NE(filter, nullptr);
  EventFactory factory;
  std::vector<Event> events = {factory.Make(Priority::kLow, 1), factory.Make(Priority::kHigh, 2)};
  std::vector<PushOutcome> outcomes(events.size());
  ASSERT_TRUE(filter->Push(events, outcomes).ok());
  ASSERT_EQ(outcomes[0].result, PushResult::kQueued);
  ASSERT_EQ(outcomes[1].result, PushResult::kQueued);

  std::atomic<bool> shut_down{false};
  std::thread shutter([&] {
    filter->Shutdown();
    shut_down.store(true);
  });
  shutter.join();
  ASSERT_TRUE(shut_down.load());

  // Later pushes are refused; what was queued still comes out, most urgent first.
  const Event late = factory.Make(Priority::kCritical, 3);
  PushOutcome late_outcome;
  ASSERT_TRUE(filter->Push({&late, 1}, {&late_outcome, 1}).ok());
  EXPECT_EQ(late_outcome.result, PushResult::kRefused);
  EXPECT_EQ(late_outcome.reason, RefuseReason::kShuttingDown);

  PopBatch batch;
  ASSERT_TRUE(filter->Pop(PopLimits{}, std::chrono::seconds(30), &batch).ok());
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(PayloadId(batch.event(0).payload), 2u);
  EXPECT_EQ(PayloadId(batch.event(1).payload), 1u);
  ASSERT_TRUE(filter->Ack(&batch).ok());

  // Empty and shut down: the wait ends at once, whatever the timeout.
  BlockedConsumer consumer(filter.get());
  consumer.Join();
  EXPECT_EQ(consumer.status().code(), Status::Code::kUnavailable);
  EXPECT_TRUE(consumer.batch().empty());
  EXPECT_TRUE(consumer.woken_before_timeout());
  const FilterStats s = filter->Stats();
  EXPECT_TRUE(s.LedgerBalanced());
  EXPECT_EQ(s.Delivered(), 2u);
  EXPECT_EQ(s.refused_by_reason[static_cast<size_t>(RefuseReason::kShuttingDown)], 1u);
}

}  // namespace
}  // namespace gridgate::filter
