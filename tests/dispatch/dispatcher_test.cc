#include "dispatch/dispatcher.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "fakes/event_factory.h"
#include "fakes/fake_sink.h"
#include "filter/filter_test_util.h"

namespace gridgate::dispatch {
namespace {

using filter::BackpressureFilter;
using filter::FilterOptions;
using testing::FakeSink;

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FilterOptions o;
    o.budget_bytes = 1 << 20;
    o.slab_bytes = 64 * 1024;
    filter_ = filter::MakeFilter(o);
    options_.batch = {.max_events = 8, .max_bytes = 1 << 20};
    options_.pop_timeout = std::chrono::milliseconds(5);
    options_.backoff_initial = std::chrono::milliseconds(1);
    options_.backoff_max = std::chrono::milliseconds(4);
  }

  void Push(Priority p, uint64_t id) {
    filter::PushAll(*filter_, {factory_.Make(p, id, 100, SystemClock()->UnixNs())});
  }

  testing::EventFactory factory_;
  std::unique_ptr<BackpressureFilter> filter_;
  FakeSink sink_;
  DispatcherOptions options_;
};

TEST_F(DispatcherTest, DeliversTheMostUrgentFirstUnderABacklog) {
  for (uint64_t id = 0; id < 60; ++id) {
    Push(id % 20 == 7 ? Priority::kCritical : id % 3 == 0 ? Priority::kHigh : Priority::kLow, id);
  }
  Dispatcher d(filter_.get(), &sink_, options_);
  d.Start();
  ASSERT_TRUE(sink_.WaitForDelivered(60));
  d.Stop();
  const auto got = sink_.delivered();
  std::vector<uint64_t> ids;
  for (const auto& e : got) {
    ids.push_back(e.id);
  }
  // Critical 7, 27, 47; then high (the other multiples of 3) in order; then low.
  std::vector<uint64_t> want = {7, 27, 47};
  for (uint64_t id = 0; id < 60; id += 3) {
    if (id % 20 != 7) {
      want.push_back(id);
    }
  }
  for (uint64_t id = 0; id < 60; ++id) {
    if (id % 20 != 7 && id % 3 != 0) {
      want.push_back(id);
    }
  }
  EXPECT_EQ(ids, want);
  for (size_t n : sink_.batches()) {
    EXPECT_LE(n, options_.batch.max_events);
  }
}

TEST_F(DispatcherTest, AFailingSinkGetsEverythingOnceItRecovers) {
  sink_.FailNext(5);
  for (uint64_t id = 0; id < 40; ++id) {
    Push(Priority::kNormal, id);
  }
  Dispatcher d(filter_.get(), &sink_, options_);
  d.Start();
  ASSERT_TRUE(sink_.WaitForDelivered(40));
  d.Stop();
  std::vector<uint64_t> ids;
  for (const auto& e : sink_.delivered()) {
    ids.push_back(e.id);
  }
  std::vector<uint64_t> want(40);
  for (uint64_t i = 0; i < 40; ++i) {
    want[i] = i;
  }
  EXPECT_EQ(ids, want) << "the failed batches came back first, in order";
  const DispatcherStats s = d.Stats();
  EXPECT_EQ(s.batches_failed, 5u);
  EXPECT_EQ(s.events_delivered, 40u);
  EXPECT_EQ(s.consecutive_failures, 0u);
  const filter::FilterStats f = filter_->Stats();
  EXPECT_EQ(f.Delivered(), 40u);
  EXPECT_GE(f.levels[LevelIndex(Priority::kNormal)].returned, 5u);
  EXPECT_TRUE(f.LedgerBalanced());
}

TEST_F(DispatcherTest, StopDuringAnOutageLeavesEverythingQueued) {
  sink_.FailAlways(true);
  for (uint64_t id = 0; id < 20; ++id) {
    Push(Priority::kHigh, id);
  }
  Dispatcher d(filter_.get(), &sink_, options_);
  d.Start();
  ASSERT_TRUE(sink_.WaitForAttempts(3));
  d.Stop();
  const filter::FilterStats f = filter_->Stats();
  EXPECT_EQ(f.InFlight(), 0u) << "the failed batch was returned, not dropped";
  EXPECT_EQ(f.Queued(), 20u);
  EXPECT_EQ(f.Delivered(), 0u);
  EXPECT_TRUE(f.LedgerBalanced());
  EXPECT_GE(d.Stats().consecutive_failures, 3u);
}

TEST_F(DispatcherTest, ACriticalEventWaitsBehindAtMostTheBatchInFlight) {
  for (uint64_t id = 0; id < 100; ++id) {
    Push(Priority::kLow, id);
  }
  sink_.Stall(true);
  Dispatcher d(filter_.get(), &sink_, options_);
  d.Start();
  ASSERT_TRUE(sink_.WaitForAttempts(1));  // the first low batch is in flight
  Push(Priority::kCritical, 1000);
  sink_.Stall(false);
  ASSERT_TRUE(sink_.WaitForDelivered(101));
  d.Stop();
  const auto got = sink_.delivered();
  const size_t first_batch = sink_.batches().front();
  ASSERT_GT(got.size(), first_batch);
  EXPECT_EQ(got[first_batch].id, 1000u) << "the critical event is first in the next batch";
  EXPECT_EQ(d.Stats().latency_samples[LevelIndex(Priority::kCritical)], 1u);
  EXPECT_GT(d.Stats().latency_p99_ns[LevelIndex(Priority::kLow)], 0);
}

TEST(DispatcherOptionsTest, InvalidOptionsAreNamed) {
  DispatcherOptions o;
  EXPECT_TRUE(o.Validate().ok());
  o.batch.max_events = 0;
  EXPECT_NE(o.Validate().message().find("max_events"), std::string::npos);
  o = DispatcherOptions{};
  o.backoff_max = std::chrono::milliseconds(1);
  EXPECT_NE(o.Validate().message().find("backoff_max"), std::string::npos);
}

}  // namespace
}  // namespace gridgate::dispatch
