#include "drain/drain_task.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "fakes/event_factory.h"
#include "fakes/temp_dir.h"
#include "filter/backpressure_filter.h"

namespace gridgate::drain {
namespace {

using filter::BackpressureFilter;
using filter::FilterOptions;
using filter::PopBatch;
using filter::PushOutcome;

FilterOptions SpillingOptions(const std::string& dir) {
  FilterOptions o;
  o.budget_bytes = 64 * 1024;
  o.slab_bytes = 4096;
  o.max_event_bytes = 1024;
  o.release_quiet_period_ms = 10;
  spill::SpillOptions s;
  s.dir = dir;
  s.block_bytes = 4096;
  s.segment_bytes = spill::kSegmentHeaderBytes + 8 * 4096;
  s.disk_budget_bytes = 32 * s.segment_bytes;
  s.fsync = spill::FsyncPolicy::kInterval;
  s.fsync_interval_ms = 5;
  o.spill = s;
  return o;
}

// Ids carry the producer and its own counter, so order can be checked per
// producer and level.
constexpr uint64_t kProducerShift = 40;

TEST(DrainTaskTest, ProducersConsumerAndDrainWorkerDeliverEverythingOnceInOrder) {
  testing::TempDir dir;
  const FilterOptions options = SpillingOptions(dir.path());
  auto created = BackpressureFilter::Create(options);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  BackpressureFilter& f = **created;
  DrainTask task(
      &f, DrainTaskOptions{.step_bytes = 8 * 1024, .idle_wait = std::chrono::milliseconds(5)},
      options);
  task.Start();

#if defined(GRIDGATE_SANITIZED)
  constexpr uint64_t kPerProducer = 4000;
#else
  constexpr uint64_t kPerProducer = 30000;
#endif
  constexpr int kProducers = 3;
  std::atomic<int> producers_done{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&f, &producers_done, p] {
      testing::EventFactory factory;
      uint64_t next = 0;
      std::vector<Event> pending;
      while (next < kPerProducer || !pending.empty()) {
        while (pending.size() < 32 && next < kPerProducer) {
          const uint64_t n = next++;
          const Priority level = n % 97 == 0  ? Priority::kCritical
                                 : n % 5 == 0 ? Priority::kHigh
                                 : n % 3 == 0 ? Priority::kNormal
                                              : Priority::kLow;
          pending.push_back(
              factory.Make(level, (uint64_t{static_cast<uint64_t>(p)} << kProducerShift) | n, 150));
        }
        std::vector<PushOutcome> outcomes(pending.size());
        ASSERT_TRUE(f.Push(pending, outcomes).ok());
        // Keep the refused ones, in order, for another try. A later event of
        // a level is never accepted before an earlier refused one of that
        // level: stop at the first refusal of each level.
        std::vector<Event> again;
        std::map<Priority, bool> blocked;
        for (size_t i = 0; i < pending.size(); ++i) {
          if (!filter::IsAccepted(outcomes[i].result) || blocked[pending[i].priority]) {
            ASSERT_TRUE(filter::IsAccepted(outcomes[i].result) ||
                        filter::IsRetryable(outcomes[i].reason));
            blocked[pending[i].priority] = true;
            again.push_back(pending[i]);
          }
        }
        if (!again.empty()) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        pending = std::move(again);
      }
      producers_done.fetch_add(1);
    });
  }
  // All events have the same size, so within one push a refusal of a level
  // is followed only by refusals of that level: the producers' re-push
  // never repeats an accepted event, and any id seen twice is a bug.
  std::map<uint64_t, uint64_t> seen;  // id -> times delivered
  uint64_t duplicates = 0;
  std::map<std::pair<int, Priority>, uint64_t> last;
  uint64_t order_violations = 0;
  PopBatch batch;
  uint64_t pops = 0;
  while (true) {
    ASSERT_TRUE(
        f.Pop({.max_events = 64, .max_bytes = 1 << 20}, std::chrono::milliseconds(20), &batch)
            .ok());
    if (batch.empty()) {
      if (producers_done.load() == kProducers && f.Stats().Queued() == 0 &&
          f.Stats().OnDisk() == 0) {
        break;
      }
      continue;
    }
    if (++pops % 13 == 0) {
      ASSERT_TRUE(f.Return(&batch).ok());
      continue;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      const Event e = batch.event(i);
      const uint64_t id = testing::PayloadId(e.payload);
      const int producer = static_cast<int>(id >> kProducerShift);
      const uint64_t n = id & ((uint64_t{1} << kProducerShift) - 1);
      if (seen[id]++ > 0) {
        ++duplicates;
        continue;
      }
      auto key = std::make_pair(producer, e.priority);
      auto it = last.find(key);
      if (it != last.end() && n <= it->second) {
        ++order_violations;
      }
      last[key] = n;
    }
    ASSERT_TRUE(f.Ack(&batch).ok());
  }
  for (auto& t : producers) {
    t.join();
  }
  task.Stop();
  EXPECT_EQ(order_violations, 0u);
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(seen.size(), kProducers * kPerProducer) << "every event arrived";
  const filter::FilterStats s = f.Stats();
  EXPECT_TRUE(s.LedgerBalanced());
  EXPECT_GT(s.spill.levels[LevelIndex(Priority::kLow)].drained, 0u) << "the disk tier was used";
  EXPECT_GT(task.drained(), 0u);
  EXPECT_GT(s.spill.fsyncs, 0u) << "the interval policy synced";
}

}  // namespace
}  // namespace gridgate::drain
