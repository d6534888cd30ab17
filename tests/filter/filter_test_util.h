#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "fakes/event_factory.h"
#include "fakes/fake_clock.h"
#include "filter/backpressure_filter.h"

namespace gridgate::filter {

// Options for a small filter driven by `clock`: 64 KiB budget in 4 KiB slabs,
// 1 KiB events at most.
inline FilterOptions SmallOptions(Clock* clock) {
  FilterOptions o;
  o.budget_bytes = 64 * 1024;
  o.slab_bytes = 4096;
  o.max_event_bytes = 1024;
  o.clock = clock;
  return o;
}

inline std::unique_ptr<BackpressureFilter> MakeFilter(const FilterOptions& o) {
  auto filter = BackpressureFilter::Create(o);
  EXPECT_TRUE(filter.ok()) << filter.status().ToString();
  return std::move(filter).value();
}

// Pushes `events` and returns the outcomes; fails the test if Push fails.
inline std::vector<PushOutcome> PushAll(BackpressureFilter& filter,
                                        const std::vector<Event>& events) {
  std::vector<PushOutcome> outcomes(events.size());
  const Status s = filter.Push(events, outcomes);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return outcomes;
}

// Pops without waiting, acks, and returns the payload ids in pop order.
inline std::vector<uint64_t> PopAckIds(BackpressureFilter& filter, PopLimits limits = {}) {
  PopBatch batch;
  const Status s = filter.Pop(limits, std::chrono::nanoseconds(0), &batch);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < batch.size(); ++i) {
    ids.push_back(testing::PayloadId(batch.event(i).payload));
  }
  if (!batch.empty()) {
    EXPECT_TRUE(filter.Ack(&batch).ok());
  }
  return ids;
}

}  // namespace gridgate::filter
